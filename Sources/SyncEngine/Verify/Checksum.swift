import CCrypto
import CXXHash

/// A streaming content checksum: XXH3-128 (libxxhash) or SHA-256 (OpenSSL's libcrypto).
final class ContentHasher {
    private let algorithm: ChecksumAlgorithm
    private var xxhState: OpaquePointer?
    private var shaContext: OpaquePointer?

    init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .xxh128:
            xxhState = XXH3_createState()
            XXH3_128bits_reset(xxhState)
        case .sha256:
            shaContext = EVP_MD_CTX_new()
            EVP_DigestInit_ex(shaContext, EVP_sha256(), nil)
        }
    }

    deinit {
        if let xxhState { XXH3_freeState(xxhState) }
        if let shaContext { EVP_MD_CTX_free(shaContext) }
    }

    func update(_ bytes: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        switch algorithm {
        case .xxh128: XXH3_128bits_update(xxhState, bytes, count)
        case .sha256: EVP_DigestUpdate(shaContext, bytes, count)
        }
    }

    /// Feeds `count` zero bytes, for the holes of a sparse file.
    func updateZeros(count: Int64) {
        var remaining = count
        while remaining > 0 {
            let chunk = Int(min(remaining, Int64(ContentHasher.zeros.count)))
            ContentHasher.zeros.withUnsafeBytes { update($0.baseAddress!, count: chunk) }
            remaining -= Int64(chunk)
        }
    }

    private static let zeros = [UInt8](repeating: 0, count: 1 << 20)

    /// Returns the checksum as lowercase hex. The hasher cannot be used afterwards.
    func finish() -> String {
        switch algorithm {
        case .xxh128:
            let digest = XXH3_128bits_digest(xxhState)
            return hex(digest.high64) + hex(digest.low64)
        case .sha256:
            var output = [UInt8](repeating: 0, count: 32)
            var length: UInt32 = 0
            EVP_DigestFinal_ex(shaContext, &output, &length)
            return output.prefix(Int(length)).map { hex(UInt64($0), width: 2) }.joined()
        }
    }

    private func hex(_ value: UInt64, width: Int = 16) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: width - digits.count) + digits
    }
}

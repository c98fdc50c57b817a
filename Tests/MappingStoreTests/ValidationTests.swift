import MappingStore
import Testing

@Suite("Input checks")
struct ValidationTests {
    @Test(arguments: ["fs-0123abcd", "fs-0123456789abcdef0"])
    func efsIDAccepted(_ text: String) throws {
        #expect(try EFSFileSystemID(validating: text).rawValue == text)
    }

    @Test(arguments: ["", "fs-", "fs-0123ABCD", "fs-0123abc", "fs-0123abcde", "fs-0123456789abcdef", "fs-0123abcg", "FS-0123abcd", "fs-0123abcd/..", "../fs-0123abcd", " fs-0123abcd"])
    func efsIDRejected(_ text: String) {
        #expect(throws: MappingStoreError.self) { try EFSFileSystemID(validating: text) }
    }

    @Test(arguments: [("1", UInt32(1)), ("200001", UInt32(200001)), ("4294967294", UInt32.max - 1)])
    func uidAccepted(_ text: String, _ expected: UInt32) throws {
        #expect(try Validation.parseUID(text) == expected)
    }

    @Test(arguments: ["", "0", "-1", "+5", "0200001", "200001 ", "2e5", "abc", "4294967295", "99999999999", "../200001", "２００"])
    func uidRejected(_ text: String) {
        #expect(throws: MappingStoreError.self) { try Validation.parseUID(text) }
    }

    @Test(arguments: ["user1", "a", "Data-Science-1", String(repeating: "x", count: 63)])
    func nameAccepted(_ text: String) throws {
        try Validation.checkResourceName(text, field: "profile name")
    }

    @Test(arguments: ["", "-user", "user-", "../etc", "a/b", "user 1", "user_1", "ü", String(repeating: "x", count: 64)])
    func nameRejected(_ text: String) {
        #expect(throws: MappingStoreError.self) { try Validation.checkResourceName(text, field: "profile name") }
    }

    @Test func registrationChecksEveryField() {
        #expect(throws: MappingStoreError.self) {
            try ProfileRegistration(profileName: "user1", domainName: "studio", kind: .user, domainID: "D-1", efsFileSystemID: "fs-0123abcd", uid: "1", roleName: nil)
        }
        #expect(throws: MappingStoreError.self) {
            try ProfileRegistration(profileName: "user1", domainName: "studio", kind: .user, domainID: "d-abc", efsFileSystemID: "fs-0123abcd", uid: "1", roleName: "has space")
        }
        #expect(throws: MappingStoreError.self) {
            try ProfileRegistration(profileName: "user1", domainName: "st/udio", kind: .user, domainID: "d-abc", efsFileSystemID: "fs-0123abcd", uid: "1", roleName: nil)
        }
    }
}

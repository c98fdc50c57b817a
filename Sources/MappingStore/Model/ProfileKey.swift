/// Whether a profile is a SageMaker user profile or a shared space.
public enum ProfileKind: String, Sendable, Codable, CaseIterable, Comparable {
    case user
    case space

    public static func < (lhs: ProfileKind, rhs: ProfileKind) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}

/// The primary key of a `studioUser` row.
///
/// The kind is part of the key, so a user and a space with the same name in one domain are
/// different rows.
public struct ProfileKey: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var profileName: String
    public var domainName: String
    public var kind: ProfileKind

    public init(profileName: String, domainName: String, kind: ProfileKind) {
        self.profileName = profileName
        self.domainName = domainName
        self.kind = kind
    }

    /// A key whose names have been checked against SageMaker's name pattern.
    public init(validatingProfileName profileName: String, domainName: String, kind: ProfileKind) throws {
        try Validation.checkResourceName(profileName, field: kind == .space ? "space name" : "profile name")
        try Validation.checkResourceName(domainName, field: "domain name")
        self.init(profileName: profileName, domainName: domainName, kind: kind)
    }

    public static func < (lhs: ProfileKey, rhs: ProfileKey) -> Bool {
        (lhs.domainName, lhs.profileName, lhs.kind) < (rhs.domainName, rhs.profileName, rhs.kind)
    }

    public var description: String {
        "\(kind.rawValue) '\(profileName)' in domain '\(domainName)'"
    }
}

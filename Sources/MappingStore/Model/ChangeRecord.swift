import Foundation

/// One entry of the append-only change feed, with the row's image before and after the write
/// (what DynamoDB Streams calls NEW_AND_OLD_IMAGES).
public struct ChangeRecord: Sendable, Equatable {
    /// DynamoDB Streams' event names.
    public enum Operation: String, Sendable {
        case insert = "INSERT"
        case modify = "MODIFY"
        case remove = "REMOVE"
    }

    /// Increases with every write to the store; consumers keep the last one they handled.
    public var sequence: Int64
    /// Milliseconds since 1970.
    public var recordedAt: Int64
    public var operation: Operation
    public var key: ProfileKey
    public var oldImage: StudioUser?
    public var newImage: StudioUser?

    public init(sequence: Int64, recordedAt: Int64, operation: Operation, key: ProfileKey, oldImage: StudioUser?, newImage: StudioUser?) {
        self.sequence = sequence
        self.recordedAt = recordedAt
        self.operation = operation
        self.key = key
        self.oldImage = oldImage
        self.newImage = newImage
    }
}

/// One `studioUserHistory` record: the row as it was after one action.
public struct HistoryRecord: Sendable, Equatable, Codable {
    /// The operation that wrote the row. The raw values are stored in the `action` column.
    public enum Action: String, Sendable, Codable {
        case register
        case setReplication = "set-replication"
        case addTarget = "add-target"
        case restore
        case remove
    }

    public var profileName: String
    /// Milliseconds since 1970; unique per profile name, so two records in one millisecond get consecutive values.
    public var epochTime: Int64
    public var action: Action
    /// The row after the action, or nil after a removal.
    public var image: StudioUser?
    public var key: ProfileKey
    public var detail: String?

    public init(profileName: String, epochTime: Int64, action: Action, key: ProfileKey, image: StudioUser?, detail: String?) {
        self.profileName = profileName
        self.epochTime = epochTime
        self.action = action
        self.key = key
        self.image = image
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case profileName = "profile_name"
        case epochTime = "epoctime"
        case domainName = "domain_name"
        case kind
        case action
        case image
        case detail
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        profileName = try container.decode(String.self, forKey: .profileName)
        epochTime = try container.decode(Int64.self, forKey: .epochTime)
        action = try container.decode(Action.self, forKey: .action)
        image = try container.decodeIfPresent(StudioUser.self, forKey: .image)
        key = ProfileKey(
            profileName: profileName,
            domainName: try container.decode(String.self, forKey: .domainName),
            kind: try container.decode(ProfileKind.self, forKey: .kind))
        detail = try container.decodeIfPresent(String.self, forKey: .detail)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(profileName, forKey: .profileName)
        try container.encode(epochTime, forKey: .epochTime)
        try container.encode(key.domainName, forKey: .domainName)
        try container.encode(key.kind, forKey: .kind)
        try container.encode(action, forKey: .action)
        try container.encodeIfPresent(image, forKey: .image)
        try container.encodeIfPresent(detail, forKey: .detail)
    }
}

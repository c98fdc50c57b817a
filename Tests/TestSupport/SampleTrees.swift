/// Ready-made tree descriptions shared by the tests.
public enum SampleTrees {
    /// The modification time given to every entry of `everyKind` that sets none of its own.
    public static let commonTime = Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)

    /// A 255-byte name, the longest one Linux filesystems accept.
    public static let longestName = EntryName(Array(repeating: UInt8(ascii: "n"), count: 255))

    /// Names that copiers have mangled: control characters, leading space and dash, invalid
    /// UTF-8 and the maximum length.
    public static let awkwardNames: [EntryName] = [
        "new\nline",
        "tab\there",
        " leading space",
        "-leading-dash",
        EntryName(Array("caf".utf8) + [0xE9]),
        EntryName([0xFF, 0xFE]),
        longestName,
    ]

    /// Returns a tree with one entry of each kind the comparator checks. With `privileged` it
    /// adds what only root may create: foreign owners, set-id files, a character device and
    /// `trusted.*` attributes.
    public static func everyKind(privileged: Bool) -> [TreeEntry] {
        let time = Attributes(modificationTime: commonTime)
        var docs: [TreeEntry] = [
            .file("readme.txt", "hello\n", Attributes(
                mode: 0o644,
                modificationTime: commonTime,
                extendedAttributes: [ExtendedAttribute("user.empty", []), ExtendedAttribute("user.binary", [0, 1, 2, 0xFF, 0x0A])],
                accessACL: "u::rw,u:1234:rw,g::r,g:5678:r,m::rw,o::r"
            )),
            .file("empty", "", Attributes(mode: 0o600, modificationTime: commonTime)),
            .sparseFile("sparse", size: 64 << 20, extents: [
                Extent(offset: 0, bytes: Array("head".utf8)),
                Extent(offset: 32 << 20, bytes: Array("middle".utf8)),
            ], time),
            .hardLink("third-name", to: "links/target"),
        ]
        if privileged {
            docs.append(.file("tagged", "t", Attributes(
                modificationTime: commonTime,
                extendedAttributes: [ExtendedAttribute("trusted.tag", text: "kept")]
            )))
        }

        var entries: [TreeEntry] = [
            .folder("docs", Attributes(mode: 0o755, modificationTime: commonTime, defaultACL: "u::rwx,g::rx,g:5678:rwx,m::rwx,o::-"), docs),
            .folder("links", time, [
                .file("target", "linked content\n", time),
                .hardLink("second-name", to: "links/target"),
            ]),
            .symlink("dangling", to: "does/not/exist", time),
            .symlink("absolute", to: "/etc/hostname", time),
            .symlink("self", to: "self", time),
            .symlink("to-folder", to: "docs", time),
            .folder("names", time, awkwardNames.map { .file($0, "name test\n", time) }),
            .fifo("pipe", Attributes(mode: 0o640, modificationTime: commonTime)),
            .socket("socket", time),
            .file("before-1970", "old\n", Attributes(modificationTime: Timestamp(seconds: -315_619_200, nanoseconds: 500_000_000))),
            .file("after-2038", "future\n", Attributes(modificationTime: Timestamp(seconds: 4_102_444_800, nanoseconds: 999_999_999))),
            .folder("read-only", Attributes(mode: 0o555, modificationTime: commonTime), [
                .file("inside", "x", time),
            ]),
        ]
        if privileged {
            entries += [
                .file("set-id", "#!/bin/sh\n", Attributes(mode: 0o6755, uid: 200_001, gid: 1001, modificationTime: commonTime)),
                .folder("shared", Attributes(mode: 0o2775, uid: 200_001, gid: 1001, modificationTime: commonTime)),
                .characterDevice("device", major: 1, minor: 7, Attributes(mode: 0o600, modificationTime: commonTime)),
            ]
        }
        return entries
    }
}

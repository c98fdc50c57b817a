/// The declared shape of one command: what `--help` prints and what the parser accepts.
///
/// Follows swift-argument-parser's conventions (`--kebab-case` options, `<value>` placeholders,
/// `(default: …)` in help), written here because outside packages cannot be fetched.
struct CommandSpec {
    struct Argument {
        var name: String
        var help: String
        var isOptional = false
        var isRepeating = false
    }

    struct Option {
        /// Long name without dashes (`workers`); flags have no value.
        var name: String
        var short: Character? = nil
        /// The placeholder shown in help (`n`), or nil for a flag.
        var valueName: String?
        var help: String
        var defaultText: String? = nil
        var isRepeatable = false
        /// For a flag with an inverse (`--progress` / `--no-progress`).
        var inverse: String? = nil

        static func flag(_ name: String, inverse: String? = nil, short: Character? = nil, help: String) -> Option {
            Option(name: name, short: short, valueName: nil, help: help, inverse: inverse)
        }

        static func value(_ name: String, _ valueName: String, help: String, default defaultText: String? = nil, repeatable: Bool = false) -> Option {
            Option(name: name, valueName: valueName, help: help, defaultText: defaultText, isRepeatable: repeatable)
        }
    }

    /// The full command name as typed (`syncd copy`).
    var name: String
    var overview: String
    var discussion: String? = nil
    var arguments: [Argument] = []
    var options: [Option] = []
    var subcommands: [(name: String, abstract: String)] = []

    var usage: String {
        var parts = [name]
        if !subcommands.isEmpty {
            parts.append("<subcommand>")
        }
        for argument in arguments {
            var text = "<\(argument.name)>"
            if argument.isRepeating { text += " ..." }
            parts.append(argument.isOptional ? "[\(text)]" : text)
        }
        if !options.isEmpty {
            parts.append("[<options>]")
        }
        return parts.joined(separator: " ")
    }

    var helpText: String {
        var lines = ["OVERVIEW: \(overview)", ""]
        if let discussion {
            for paragraph in discussion.split(separator: "\n", omittingEmptySubsequences: false) {
                lines += Self.wrap(String(paragraph), width: 80)
            }
            lines.append("")
        }
        lines += ["USAGE: \(usage)", ""]
        if !arguments.isEmpty {
            lines.append("ARGUMENTS:")
            for argument in arguments {
                lines += Self.row("<\(argument.name)>", argument.help)
            }
            lines.append("")
        }
        lines.append("OPTIONS:")
        for option in options {
            var label = option.short.map { "-\($0), " } ?? ""
            label += "--\(option.name)"
            if let inverse = option.inverse { label += "/--\(inverse)" }
            if let valueName = option.valueName { label += " <\(valueName)>" }
            var help = option.help
            if let defaultText = option.defaultText { help += " (default: \(defaultText))" }
            lines += Self.row(label, help)
        }
        lines += Self.row("-h, --help", "Show help information.")
        if !subcommands.isEmpty {
            lines += ["", "SUBCOMMANDS:"]
            for subcommand in subcommands {
                lines += Self.row(subcommand.name, subcommand.abstract)
            }
            lines += ["", "  See '\(name) help <subcommand>' for detailed help."]
        }
        return lines.joined(separator: "\n")
    }

    /// Splits text into lines of at most `width` columns, breaking between words.
    private static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = ""
            }
            current += (current.isEmpty ? "" : " ") + word
        }
        lines.append(current)
        return lines
    }

    /// One help row: the label in a 26-column gutter, the text wrapped at 80 columns.
    private static func row(_ label: String, _ help: String) -> [String] {
        let gutter = 26
        var lines: [String] = []
        var current = "  " + label
        if current.count >= gutter {
            lines.append(current)
            current = ""
        }
        current += String(repeating: " ", count: gutter - current.count)
        var width = current.count
        for word in help.split(separator: " ") {
            if width + word.count + 1 > 80 && width > gutter {
                lines.append(current)
                current = String(repeating: " ", count: gutter)
                width = gutter
            }
            if width > gutter {
                current += " "
                width += 1
            }
            current += word
            width += word.count
        }
        lines.append(current)
        return lines
    }
}

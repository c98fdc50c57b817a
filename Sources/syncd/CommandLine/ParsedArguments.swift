/// A usage error: printed as `Error: …` with the command's usage line, and exit 64.
struct UsageError: Error {
    var message: String
    /// Bad input data (malformed JSON, an invalid id) rather than bad command words: exit 65.
    var isDataError = false
}

/// The command-line words, checked against a `CommandSpec`.
struct ParsedArguments {
    var positionals: [String] = []
    private var values: [String: [String]] = [:]
    private var flags: [String: Bool] = [:]
    var helpRequested = false

    /// Parses `arguments` (without the command names) against `spec`.
    init(_ arguments: [String], spec: CommandSpec) throws(UsageError) {
        var byName: [String: CommandSpec.Option] = [:]
        var inverses: [String: String] = [:]
        for option in spec.options {
            byName[option.name] = option
            if let short = option.short { byName[String(short)] = option }
            if let inverse = option.inverse { inverses[inverse] = option.name }
        }

        var index = 0
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || !argument.hasPrefix("-") || argument == "-" {
                positionals.append(argument)
                continue
            }
            if argument == "--" {
                onlyPositionals = true
                continue
            }
            if argument == "-h" || argument == "--help" {
                helpRequested = true
                continue
            }

            var name = argument.hasPrefix("--") ? String(argument.dropFirst(2)) : String(argument.dropFirst())
            var inlineValue: String? = nil
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            if let positive = inverses[name] {
                guard inlineValue == nil else { throw UsageError(message: "The flag '--\(name)' takes no value") }
                flags[positive] = false
                continue
            }
            guard let option = byName[name] else {
                throw UsageError(message: "Unknown option '\(argument)'")
            }
            if option.valueName == nil {
                guard inlineValue == nil else { throw UsageError(message: "The flag '--\(option.name)' takes no value") }
                flags[option.name] = true
                continue
            }
            let value: String
            if let inlineValue {
                value = inlineValue
            } else if index < arguments.count {
                value = arguments[index]
                index += 1
            } else {
                throw UsageError(message: "Missing value for '--\(option.name) <\(option.valueName!)>'")
            }
            if values[option.name] != nil && !option.isRepeatable {
                throw UsageError(message: "The option '--\(option.name)' was given more than once")
            }
            values[option.name, default: []].append(value)
        }

        if helpRequested {
            return
        }
        let required = spec.arguments.filter { !$0.isOptional }
        if positionals.count < required.count {
            throw UsageError(message: "Missing expected argument '<\(required[positionals.count].name)>'")
        }
        if !(spec.arguments.last?.isRepeating ?? false) && positionals.count > spec.arguments.count {
            throw UsageError(message: "Unexpected argument '\(positionals[spec.arguments.count])'")
        }
    }

    func value(_ name: String) -> String? {
        values[name]?.last
    }

    func values(_ name: String) -> [String] {
        values[name] ?? []
    }

    /// The flag's state, or nil when neither it nor its inverse was given.
    func flag(_ name: String) -> Bool? {
        flags[name]
    }

    func isSet(_ name: String) -> Bool {
        flags[name] == true
    }

    /// Parses a numeric option value, or throws a usage error that names the option.
    func integer<T: FixedWidthInteger>(_ name: String, _ type: T.Type = T.self, range: ClosedRange<T>? = nil) throws(UsageError) -> T? {
        guard let text = value(name) else { return nil }
        guard let number = T(text), range.map({ $0.contains(number) }) ?? true else {
            let expected = range.map { "a whole number from \($0.lowerBound) to \($0.upperBound)" } ?? "a whole number"
            throw UsageError(message: "Invalid value '\(text)' for '--\(name)': expected \(expected)")
        }
        return number
    }

    /// Parses one of the listed words, or throws a usage error that lists them.
    func choice(_ name: String, _ allowed: [String]) throws(UsageError) -> String? {
        guard let text = value(name) else { return nil }
        guard allowed.contains(text) else {
            throw UsageError(message: "Invalid value '\(text)' for '--\(name)': expected one of \(allowed.joined(separator: ", "))")
        }
        return text
    }
}

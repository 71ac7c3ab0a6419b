import Foundation

/// Bounds on what a tokenizer file's patterns may cost, checked as the file loads: ICU's
/// backtracking matcher takes exponential time on a repeated group that itself repeats or
/// alternates (`(a+)+`, `(a|aa)*`), and `Replace` normalizers can multiply the text's length.
enum PatternSafety {
    /// Why `pattern` could backtrack catastrophically, or nil: a group followed by an unbounded
    /// quantifier (`*`, `+`, `{n,}`) whose body holds another unbounded quantifier or an alternation.
    static func backtrackingProblem(in pattern: String) -> String? {
        let characters = Array(pattern)
        // For each open group: whether its body repeats without bound or alternates.
        var groups: [Bool] = []
        var index = 0
        var inClass = false
        func unboundedQuantifier(at position: Int) -> Bool {
            guard position < characters.count else { return false }
            switch characters[position] {
            case "*", "+": return true
            case "{":
                let rest = String(characters[position...].prefix(16))
                return rest.range(of: #"^\{\d+,\}"#, options: .regularExpression) != nil
            default: return false
            }
        }
        while index < characters.count {
            let character = characters[index]
            if character == "\\" {
                index += 2
                if !inClass, unboundedQuantifier(at: index), !groups.isEmpty { groups[groups.count - 1] = true }
                continue
            }
            if inClass {
                if character == "]" { inClass = false }
                index += 1
                continue
            }
            switch character {
            case "[": inClass = true
            case "(": groups.append(false)
            case "|": if !groups.isEmpty { groups[groups.count - 1] = true }
            case ")":
                let risky = groups.popLast() ?? false
                let repeated = unboundedQuantifier(at: index + 1)
                if risky, repeated {
                    return "a repeated group that itself repeats or alternates ending at character \(index + 1)"
                }
                if risky || repeated, !groups.isEmpty { groups[groups.count - 1] = true }
            default:
                if unboundedQuantifier(at: index + 1), !groups.isEmpty { groups[groups.count - 1] = true }
            }
            index += 1
        }
        return nil
    }

    /// The most a normalizer may multiply a text's length.
    static let maxGrowth = 16
}

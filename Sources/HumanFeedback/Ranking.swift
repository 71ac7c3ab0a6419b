/// A person's order of a prompt's answers: groups of answer indices (0-based), best group
/// first; answers in one group are tied. Every answer is in exactly one group.
public struct Ranking: Equatable, Sendable {
    /// The groups, best first; each group's indices ascending.
    public let groups: [[Int]]

    /// A ranking of `answerCount` answers; throws unless every answer is in exactly one group.
    public init(groups: [[Int]], answerCount: Int) throws {
        var seen = Set<Int>()
        for group in groups {
            guard !group.isEmpty else { throw LabelError("a group of the ranking is empty") }
            for index in group {
                guard (0..<answerCount).contains(index) else {
                    throw LabelError("there is no answer \(index + 1); the answers are 1 to \(answerCount)")
                }
                guard seen.insert(index).inserted else { throw LabelError("answer \(index + 1) is ranked twice") }
            }
        }
        let missing = (0..<answerCount).filter { !seen.contains($0) }
        guard missing.isEmpty else {
            throw LabelError(
                "rank every answer: \(missing.map { String($0 + 1) }.joined(separator: ", ")) "
                    + "\(missing.count == 1 ? "is" : "are") missing")
        }
        self.groups = groups.map { $0.sorted() }
    }

    /// Parses a ranking typed best first with 1-based answer numbers: `2 1 4 3`, ties joined by
    /// `=` (`2=1 4 3`).
    public init(typed text: String, answerCount: Int) throws {
        var groups: [[Int]] = []
        for word in text.split(whereSeparator: \.isWhitespace) {
            var group: [Int] = []
            for piece in word.split(separator: "=", omittingEmptySubsequences: false) {
                guard let number = Int(piece) else {
                    throw LabelError(
                        "'\(piece.isEmpty ? String(word) : String(piece))' is not an answer number; "
                            + "type the numbers best first, like 2 1 4 3, ties joined by = (2=1 4 3)")
                }
                group.append(number - 1)
            }
            groups.append(group)
        }
        try self.init(groups: groups, answerCount: answerCount)
    }

    /// Every (better, worse) pair of answers the ranking implies: each answer of a group with
    /// each answer of every later group, in group order.
    public var pairs: [(better: Int, worse: Int)] {
        var pairs: [(better: Int, worse: Int)] = []
        for (position, group) in groups.enumerated() {
            for better in group {
                for later in groups[(position + 1)...] {
                    for worse in later { pairs.append((better, worse)) }
                }
            }
        }
        return pairs
    }

    /// The ranking as typed, 1-based: `2=1 4 3`.
    public var typed: String {
        groups.map { $0.map { String($0 + 1) }.joined(separator: "=") }.joined(separator: " ")
    }
}

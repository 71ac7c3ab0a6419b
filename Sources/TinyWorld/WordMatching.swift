import Datasets

/// Word-level matching of short answers: what the tiny world's judge and the programmatic
/// rewards mean by "the answer names X".
public enum WordMatching {
    /// Lowercased runs of letters and digits.
    public static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }

    /// Whether `phrase` occurs in `words` as consecutive words.
    public static func contains(_ words: [String], phrase: [String]) -> Bool {
        guard !phrase.isEmpty, words.count >= phrase.count else { return false }
        return (0...(words.count - phrase.count)).contains { Array(words[$0..<($0 + phrase.count)]) == phrase }
    }
}

import Datasets
import Formats
import Foundation
import Inference

extension EncodedPreferencePair {
    /// The pairs of `url` encoded with `encoder` and fitted to `limits` (both sides lose the
    /// same prompt tokens; dropped pairs counted in a note), in file order, each with its
    /// `rejected_kind`, `margin` and `chosen_probability`: the data of the reward model and of DPO.
    public static func read(
        _ url: URL, encoder: ChatEncoder, limits: ChatLengthLimits,
        emit: (TrainingEvent) -> Void = { _ in }
    ) throws -> [EncodedPreferencePair] {
        let pairs = try PreferenceDataset.read(url)
        let margins = try PreferenceMargins.read(url, pairs: pairs.count)
        var filter = ChatLengthFilter(limits: limits)
        let encoded = try pairs.enumerated().compactMap { index, pair -> EncodedPreferencePair? in
            guard let fitted = filter.fit(try encoder.encode(pair)) else { return nil }
            return EncodedPreferencePair(
                chosen: fitted.chosen, rejected: fitted.rejected, kind: pair.rejectedKind, margin: margins?[index],
                chosenProbability: pair.chosenProbability ?? 1)
        }
        emit(.note(filter.report.summary(of: "preference pairs in \(url.lastPathComponent)", limits: limits)))
        return encoded
    }
}

/// The optional `margin` field of preference lines (TRL's reward-data margin): how much
/// better the chosen completion is, subtracted inside the Bradley–Terry sigmoid.
enum PreferenceMargins {
    /// One margin per pair line of `url` (the non-blank lines, in the order `PreferenceDataset`
    /// reads them), or nil when no line has one. A margin on some lines but not others, or one
    /// that is not a number, is an error naming the line.
    static func read(_ url: URL, pairs: Int) throws -> [Float]? {
        var margins: [(line: Int, value: Float?)] = []
        for text in try TextLines.read(url) where !text.isBlank {
            let line = text.number
            guard let value = try JSONValue.parse(Data(text.text.utf8), file: url.path).objectValue?["margin"],
                !value.isNull
            else {
                margins.append((line, nil))
                continue
            }
            guard let number = value.doubleValue, number.isFinite else {
                throw DatasetError.line(url.path, line, "\"margin\" should be a finite number, found \(value.kindName)")
            }
            margins.append((line, Float(number)))
        }
        guard margins.contains(where: { $0.value != nil }) else { return nil }
        if let missing = margins.first(where: { $0.value == nil }) {
            throw DatasetError.line(
                url.path, missing.line, "has no \"margin\" while other lines have one; give every pair a margin or none"
            )
        }
        precondition(margins.count == pairs, "one margin per preference line")
        return margins.map { $0.value! }
    }
}

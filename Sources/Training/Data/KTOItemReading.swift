import Datasets
import Foundation

extension DPOStage {
    /// KTO's items from the unpaired completions of `url`: each completion (as `chosen`, with its
    /// label) and its mismatched sequence for the KL estimate (as `rejected`), indexed in file
    /// order. The mismatched sequence is the completion's prompt with the completion before it
    /// in its run of `batchSize` lines (the run's first takes the run's last), as TRL pairs them.
    /// Both are fitted to `limits` together; items without completion tokens on both sides are
    /// left out.
    static func ktoItems(
        from url: URL, encoder: ChatEncoder, limits: ChatLengthLimits, batchSize: Int,
        emit: (TrainingEvent) -> Void
    ) throws -> [EncodedPair] {
        let completions = try UnpairedPreferenceDataset.read(url)
        var filter = ChatLengthFilter(limits: limits)
        var items: [EncodedPair] = []
        for (index, item) in completions.enumerated() {
            let runStart = index / batchSize * batchSize
            let partner = index > runStart ? index - 1 : min(runStart + batchSize, completions.count) - 1
            let pair = PreferencePair(
                prompt: item.prompt, chosen: item.completion, rejected: completions[partner].completion)
            guard let fitted = filter.fit(try encoder.encode(pair)),
                fitted.chosen.trainedCount > 0, fitted.rejected.trainedCount > 0
            else { continue }
            items.append(
                EncodedPair(
                    index: items.count, chosen: fitted.chosen, rejected: fitted.rejected,
                    label: item.desirable ? 1 : 0))
        }
        emit(.note(filter.report.summary(of: "KTO completions in \(url.lastPathComponent)", limits: limits)))
        return items
    }
}

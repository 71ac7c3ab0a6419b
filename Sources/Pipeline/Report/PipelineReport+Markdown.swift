import Datasets
import Formats
import Foundation
import TinyWorld

extension PipelineReport {
    /// `report.md`: the models side by side on every figure, the reward model's held-out
    /// accuracy, the stages' wall times, sample conversations per model (`samples`) and links
    /// to the training curves of the stages in `plots` (`plots/<stage>.svg`).
    public func markdown(samples: [PipelineModel: [ChatAnswer]] = [:], plots: [String] = []) -> String {
        var sections = ["# Pipeline report", modelsSection()]
        if let bySystemPrompt = judgeBySystemPromptSection() { sections.append(bySystemPrompt) }
        sections += [rewardModelSection(), timesSection()]
        if !samples.isEmpty { sections.append(samplesSection(samples)) }
        if !plots.isEmpty { sections.append(plotsSection(plots)) }
        return sections.joined(separator: "\n\n") + "\n"
    }

    /// The figures of the model table: label and how to read it from a scorecard.
    private static let figures: [(label: String, value: (ModelScorecard) -> Double?)] = [
        ("answer rate", { $0.answerRate }),
        ("accuracy", { $0.accuracy }),
        ("accuracy, pretraining-only facts", { $0.accuracyPretrainOnly }),
        ("judge score", { $0.judgeScore }),
        ("judge: correct", { $0.judge.correct }),
        ("judge: follows system prompt", { $0.judge.followsSystemPrompt }),
        ("judge: concise", { $0.judge.concise }),
        ("reward (reward model)", { $0.reward }),
        ("mean length (tokens)", { $0.meanLength }),
        ("KL to SFT", { $0.klToSFT }),
    ]

    private func modelsSection() -> String {
        let present = PipelineModel.allCases.filter { models[$0] != nil }
        guard !present.isEmpty else { return "## Models\n\nNo model was evaluated." }
        let rows = Self.figures.map { figure in [figure.label] + present.map { Self.number(figure.value(models[$0]!)) }
        }
        return
            "## Models\n\nEach model answered the held-out questions (greedy decoding); the judge checks each answer "
            + "against the world's facts and the system prompt. A dash: not applicable.\n\n"
            + Self.table(header: ["figure"] + present.map(\.rawValue), rows: rows, numericFrom: 1)
    }

    /// The judge's parts per system prompt and model; nil when no model has them (a report read
    /// back from `report.json`).
    private func judgeBySystemPromptSection() -> String? {
        let present = PipelineModel.allCases.filter { !(models[$0]?.judgeBySystemPrompt.isEmpty ?? true) }
        guard !present.isEmpty else { return nil }
        let styles = AnswerStyle.allCases.filter { style in
            present.contains { models[$0]!.judgeBySystemPrompt[style.rawValue] != nil }
        }
        let rows = styles.map { style in
            [style.systemPrompt ?? "(none)"]
                + present.map { model in
                    models[model]!.judgeBySystemPrompt[style.rawValue].map {
                        [$0.correct, $0.followsSystemPrompt, $0.concise].map { Self.number($0) }.joined(
                            separator: " / ")
                    } ?? "—"
                }
        }
        return
            "## Judge by system prompt\n\nThe judge's parts, correct / follows system prompt / concise, on the questions "
            + "asked with each system prompt.\n\n"
            + Self.table(header: ["system prompt"] + present.map(\.rawValue), rows: rows, numericFrom: 1)
    }

    private func rewardModelSection() -> String {
        let source = preferencesSource.map { "\n\nPreference pairs: \($0) (`preferences.source`)." } ?? ""
        guard let rewardModel else { return "## Reward model\n\nNo reward model was trained." + source }
        let rows = rewardModel.heldoutAccuracyByKind.sorted { $0.key < $1.key }.map { [$0.key, Self.number($0.value)] }
        return
            "## Reward model\n\nHeld-out accuracy (chosen scored above rejected): \(Self.number(rewardModel.heldoutAccuracy))"
            + source
            + (rows.isEmpty
                ? "" : "\n\n" + Self.table(header: ["rejected kind", "accuracy"], rows: rows, numericFrom: 1))
    }

    private func timesSection() -> String {
        let ran = PipelineStage.allCases.compactMap { stage in seconds[stage].map { (stage, $0) } }
        guard !ran.isEmpty else { return "## Wall time\n\nNo stage was timed." }
        let rows =
            ran.map { [$0.0.rawValue, String(format: "%.1f", $0.1)] }
            + [["total", String(format: "%.1f", ran.reduce(0) { $0 + $1.1 })]]
        return "## Wall time\n\n" + Self.table(header: ["stage", "seconds"], rows: rows, numericFrom: 1)
    }

    private func samplesSection(_ samples: [PipelineModel: [ChatAnswer]]) -> String {
        let models = PipelineModel.allCases.filter { samples[$0] != nil }
        return "## Sample conversations\n\n"
            + models.map { model in
                "### \(model.rawValue)\n\n" + samples[model]!.map(Self.conversation).joined(separator: "\n\n")
            }.joined(separator: "\n\n")
    }

    /// One question and answer as a short block of labelled lines.
    private static func conversation(_ answer: ChatAnswer) -> String {
        let system = answer.question.prompt.first { $0.role == .system }?.content
        let question = answer.question.prompt.last { $0.role == .user }?.content ?? ""
        let verdict =
            answer.verdict.map {
                "correct \(number($0.correct, digits: 0)), follows system prompt \(number($0.followsSystemPrompt, digits: 0)), "
                    + "concise \(number($0.concise, digits: 0))"
            } ?? "not judged (scored 0)"
        let ending = answer.endedTurn ? "" : " (did not end its turn)"
        return [
            "- **System:** \(system.map(escaped) ?? "(none)")",
            "- **User:** \(escaped(question))",
            "- **Assistant:** \(answer.text.allSatisfy(\.isWhitespace) ? "(empty)" : escaped(answer.text))\(ending)",
            "- **Expected:** \(escaped(answer.question.answer)); judge: \(verdict)",
        ].joined(separator: "\n")
    }

    private func plotsSection(_ plots: [String]) -> String {
        "## Training curves\n\n"
            + plots.map { "- [\($0)](plots/\($0).svg)\n\n  ![\($0) metrics](plots/\($0).svg)" }.joined(separator: "\n")
    }

    /// A Markdown table; columns from `numericFrom` on are right-aligned.
    private static func table(header: [String], rows: [[String]], numericFrom: Int) -> String {
        let alignment = header.indices.map { $0 >= numericFrom ? "---:" : "---" }
        return ([header, alignment] + rows).map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n")
    }

    /// A figure with `digits` decimals, or a dash for `nil`.
    private static func number(_ value: Double?, digits: Int = 3) -> String {
        value.map { String(format: "%.\(digits)f", $0) } ?? "—"
    }

    /// Model output as inert Markdown on one line: characters Markdown would interpret are
    /// escaped (a chat model's `<|im_start|>` must not read as HTML), line breaks shown as ⏎.
    private static func escaped(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "\\", "`", "*", "_", "<", ">", "|", "[", "]", "#": result += "\\\(character)"
            case "\n", "\r\n": result += " ⏎ "
            default: result.append(character)
            }
        }
        return result
    }
}

import Datasets
import Formats
import Foundation
import Pipeline
import TinyWorld
import Training
import XCTest

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// `report.json`'s exact schema, `report.md`'s content and the metrics plots.
final class PipelineReportTests: XCTestCase {
    private static let scorecardKeys: Set<String> = [
        "answer_rate", "accuracy", "accuracy_pretrain_only", "judge_score", "judge", "reward", "mean_length",
        "kl_to_sft",
    ]

    private func scorecard(_ base: Double, kl: Double?, reward: Double?) -> ModelScorecard {
        ModelScorecard(
            answerRate: base, accuracy: base / 2, accuracyPretrainOnly: base / 4, judgeScore: base / 3,
            judge: .init(correct: base / 2, followsSystemPrompt: base, concise: 0.125), reward: reward,
            meanLength: 10 * base, klToSFT: kl)
    }

    /// A run without PPO: base, SFT and DPO evaluated, four stages timed.
    private func report() -> PipelineReport {
        PipelineReport(
            models: [
                .base: scorecard(0.25, kl: nil, reward: nil), .sft: scorecard(0.5, kl: 0, reward: -0.25),
                .dpo: scorecard(0.75, kl: 1.5, reward: 0.75),
            ],
            rewardModel: .init(outcomes: [("padded", true), ("padded", false), ("wrong_fact", true), (nil, true)]),
            seconds: .init([.data: 1.25, .tokenizer: 2, .pretrain: 300.5, .sft: 42]))
    }

    private func object(_ value: Any?, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(value as? [String: Any], "not an object: \(String(describing: value))", file: file, line: line)
    }

    func testJSONHasExactlyTheSchemaKeysWithNullsAndRoundTrips() throws {
        let report = report()
        let json = try object(JSONSerialization.jsonObject(with: report.jsonData()))
        XCTAssertEqual(Set(json.keys), ["models", "reward_model", "seconds", "preferences_source"])
        XCTAssertTrue(json["preferences_source"] is NSNull, "null when the run set none")

        let models = try object(json["models"])
        XCTAssertEqual(Set(models.keys), ["base", "sft", "dpo"], "a model the run did not train is absent")
        for (name, card) in models {
            let card = try object(card)
            XCTAssertEqual(Set(card.keys), Self.scorecardKeys, name)
            XCTAssertEqual(Set(try object(card["judge"]).keys), ["correct", "follows_system_prompt", "concise"], name)
        }
        let base = try object(models["base"])
        XCTAssertTrue(base["kl_to_sft"] is NSNull, "null, not omitted")
        XCTAssertTrue(base["reward"] is NSNull)
        XCTAssertEqual(try object(models["sft"])["kl_to_sft"] as? Double, 0)

        let rewardModel = try object(json["reward_model"])
        XCTAssertEqual(Set(rewardModel.keys), ["heldout_accuracy", "heldout_accuracy_by_kind"])
        XCTAssertEqual(rewardModel["heldout_accuracy"] as? Double, 0.75)
        XCTAssertEqual(
            try object(rewardModel["heldout_accuracy_by_kind"]) as? [String: Double], ["padded": 0.5, "wrong_fact": 1])

        let seconds = try object(json["seconds"])
        XCTAssertEqual(Set(seconds.keys), ["data", "tokenizer", "pretrain", "sft", "reward", "dpo", "ppo", "eval"])
        XCTAssertEqual(seconds["pretrain"] as? Double, 300.5)
        XCTAssertTrue(seconds["ppo"] is NSNull)

        XCTAssertEqual(try JSONDecoder().decode(PipelineReport.self, from: report.jsonData()), report)

        var diverged = report
        diverged.models[.ppo] = scorecard(1, kl: .nan, reward: .infinity)
        let divergedModels = try object(object(JSONSerialization.jsonObject(with: diverged.jsonData()))["models"])
        let ppoCard = try object(divergedModels["ppo"])
        XCTAssertTrue(
            ppoCard["kl_to_sft"] is NSNull && ppoCard["reward"] is NSNull, "non-finite figures are written as null")

        var withoutRewardModel = report
        withoutRewardModel.rewardModel = nil
        XCTAssertTrue(
            try object(JSONSerialization.jsonObject(with: withoutRewardModel.jsonData()))["reward_model"] is NSNull)
    }

    func testWriteProducesBothFilesAndMarkdownHasEveryTable() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-report-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let world = TinyWorld(seed: 3, size: .smoke)
        let questions = TinyWorldChats(world: world).evaluation
        let answers = questions.prefix(10).map {
            ChatAnswer(
                question: $0, text: "It is <|im_start|> | *x*\nmore", tokenCount: 7, endedTurn: false, verdict: nil)
        }
        let samples = PipelineReport.sampleAnswers(answers)
        XCTAssertEqual(samples.count, 3)
        XCTAssertEqual(
            Set(samples.map(\.question.style)).count, min(3, Set(answers.map(\.question.style)).count),
            "one of each style when there are")

        var report = report()
        report.models[.dpo]!.judgeBySystemPrompt = [
            "none": .init(correct: 0.5, followsSystemPrompt: 1, concise: 1),
            "full_sentence": .init(correct: 0.25, followsSystemPrompt: 0.75, concise: 1),
        ]
        try report.write(to: directory, samples: [.sft: samples], plots: ["pretrain", "sft"])
        var readBack = report
        readBack.models[.dpo]!.judgeBySystemPrompt = [:]
        XCTAssertEqual(
            try PipelineReport.read(directory.appendingPathComponent("report.json")), readBack,
            "report.json holds everything but the by-system-prompt means")
        let markdown = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)

        XCTAssertTrue(markdown.contains("| figure | base | sft | dpo |"), markdown)
        for label in [
            "answer rate", "accuracy, pretraining-only facts", "judge: follows system prompt", "reward (reward model)",
            "mean length (tokens)", "KL to SFT",
        ] {
            XCTAssertTrue(markdown.contains("| \(label) |"), label)
        }
        XCTAssertTrue(markdown.contains("| KL to SFT | — | 0.000 | 1.500 |"), markdown)
        XCTAssertTrue(markdown.contains("| system prompt | dpo |"), markdown)
        XCTAssertTrue(markdown.contains("| (none) | 0.500 / 1.000 / 1.000 |"), markdown)
        XCTAssertTrue(markdown.contains("| Answer in a full sentence. | 0.250 / 0.750 / 1.000 |"), markdown)
        XCTAssertFalse(markdown.contains("| Answer in one word. |"), "styles no model was asked in are left out")
        XCTAssertTrue(markdown.contains("Held-out accuracy (chosen scored above rejected): 0.750"))
        XCTAssertTrue(markdown.contains("| padded | 0.500 |"))
        XCTAssertTrue(markdown.contains("| pretrain | 300.5 |"))
        XCTAssertTrue(markdown.contains("| total | 345.8 |"))
        XCTAssertFalse(markdown.contains("| ppo |"), "stages that did not run are left out")
        XCTAssertTrue(markdown.contains("### sft"))
        XCTAssertTrue(
            markdown.contains("\\<\\|im\\_start\\|\\> \\| \\*x\\* ⏎ more"), "model output is escaped onto one line")
        XCTAssertTrue(markdown.contains("not judged (scored 0)"))
        XCTAssertTrue(markdown.contains("(did not end its turn)"))
        XCTAssertTrue(markdown.contains("[pretrain](plots/pretrain.svg)"))
        XCTAssertTrue(markdown.contains("![sft metrics](plots/sft.svg)"))
    }

    // MARK: Plots

    private let metrics = """
        {"step": 1, "loss": 4.5, "lr": 0.001, "total_steps": 3, "eta_s": 9, "note": "warmup", "clipped": true}
        {"step": 2, "loss": 3.25, "lr": 0.002, "rewards/accuracies": 0.5, "kl": NaN}

        {"step": 3, "loss": 2.0, "lr": 0.002, "val_loss": 2.5, "rewards/accuracies": 0.75, "kl": 0.125}
        """

    func testSeriesKeepNumericKeysInOrderOfAppearance() throws {
        let series = try MetricsPlot.series(jsonLines: metrics, file: "metrics.jsonl")
        XCTAssertEqual(series.map(\.key), ["loss", "lr", "rewards/accuracies", "val_loss", "kl"])
        XCTAssertEqual(series[0].points.map(\.step), [1, 2, 3])
        XCTAssertEqual(series[0].points.map(\.value), [4.5, 3.25, 2])
        XCTAssertEqual(series[3].points.map(\.step), [3], "NaN is left out")
        XCTAssertThrowsError(try MetricsPlot.series(jsonLines: "[1]", file: "m.jsonl"))
    }

    func testSVGIsWellFormedWithOneChartPerMetricAndDeterministic() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-plot-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let metricsFile = folder.appendingPathComponent("metrics.jsonl")
        let svgFile = folder.appendingPathComponent("plots/dpo.svg")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try metrics.write(to: metricsFile, atomically: true, encoding: .utf8)

        let drawn = try MetricsPlot.write(metrics: metricsFile, to: svgFile, title: "dpo <stage>")
        let data = try Data(contentsOf: svgFile)
        let svg = try SVGSummary(data)
        XCTAssertEqual(svg.root, "svg")
        XCTAssertEqual(svg.count("polyline"), drawn.count)
        XCTAssertEqual(svg.count("circle"), 2, "kl and val_loss have one point each")
        for key in drawn.map(\.key) { XCTAssertTrue(svg.texts.contains(key), key) }
        XCTAssertTrue(svg.texts.contains("dpo <stage>"), "the title is escaped and read back")
        XCTAssertTrue(
            svg.texts.contains("4.5") && svg.texts.contains("2"), "the loss chart labels its maximum and minimum")
        XCTAssertEqual(String(decoding: data, as: UTF8.self), MetricsPlot.svg(drawn, title: "dpo <stage>"))

        let empty = try SVGSummary(Data(MetricsPlot.svg([], title: "empty").utf8))
        XCTAssertEqual(empty.count("polyline"), 0)
    }
}

/// What an SVG document holds, read with Foundation's XML parser (which fails on malformed XML).
private final class SVGSummary: NSObject, XMLParserDelegate {
    private(set) var root: String?
    private(set) var elements: [String] = []
    private(set) var texts: [String] = []
    private var text: String?

    init(_ data: Data) throws {
        super.init()
        let parser = XMLParser(data: data)
        parser.delegate = self
        guard parser.parse() else {
            throw NSError(
                domain: "SVG", code: 1,
                userInfo: [NSLocalizedDescriptionKey: "\(parser.parserError.map { "\($0)" } ?? "malformed")"])
        }
    }

    func count(_ element: String) -> Int { elements.filter { $0 == element }.count }

    func parser(
        _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if root == nil { root = name }
        elements.append(name)
        if name == "text" { text = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text? += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text", let text { texts.append(text) }
        text = nil
    }
}

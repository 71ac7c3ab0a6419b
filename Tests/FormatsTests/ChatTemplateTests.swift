import Formats
import Foundation
import XCTest

final class ChatTemplateTests: XCTestCase {
    private let conversation: [ChatMessage] = [
        .system("Answer in one word."), .user("Capital of Varn?"), .assistant(" Tolbek \n"), .user("And Quell?"),
        .assistant("Dira"),
    ]

    func testChatMLRendersTheExactTextAndSpans() {
        let rendered = ChatTemplate.chatML.render(conversation)
        XCTAssertEqual(
            rendered.text,
            "<|im_start|>system\nAnswer in one word.<|im_end|>\n<|im_start|>user\nCapital of Varn?<|im_end|>\n"
                + "<|im_start|>assistant\n Tolbek \n<|im_end|>\n<|im_start|>user\nAnd Quell?<|im_end|>\n<|im_start|>assistant\nDira<|im_end|>\n"
        )
        XCTAssertEqual(rendered.assistantTexts, [" Tolbek \n<|im_end|>", "Dira<|im_end|>"])
        let prompt = ChatTemplate.chatML.render([.user("Hi")], addGenerationPrompt: true)
        XCTAssertEqual(prompt.text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(prompt.assistantSpans, [])
    }

    func testLlama3RendersTheExactTextAndTrimsContent() {
        let rendered = ChatTemplate.llama3.render(conversation, addGenerationPrompt: true)
        XCTAssertEqual(
            rendered.text,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer in one word.<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nCapital of Varn?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nTolbek<|eot_id|>"
                + "<|start_header_id|>user<|end_header_id|>\n\nAnd Quell?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nDira<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n")
        XCTAssertEqual(rendered.assistantTexts, ["Tolbek<|eot_id|>", "Dira<|eot_id|>"])
        let dated = try! ChatTemplate.named("llama3.1").render([.user("Hi"), .assistant("Yo")])
        XCTAssertEqual(
            dated.text,
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
                + "Today Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\nYo<|eot_id|>")
        XCTAssertEqual(dated.assistantTexts, ["Yo<|eot_id|>"])
    }

    func testSpansCountUTF8Bytes() {
        let rendered = ChatTemplate.chatML.render([.user("Zürich? 🏔"), .assistant("Ja, Zürich 🏔.")])
        XCTAssertEqual(rendered.assistantTexts, ["Ja, Zürich 🏔.<|im_end|>"])
    }

    /// `chat-template-cases.json`: shipped templates rendered by Jinja2 (`make_chat_template_cases.py`).
    func testRecognizedTemplatesMatchJinjaRenderings() throws {
        struct Cases: Decodable {
            struct Case: Decodable {
                let template: String
                let messages: [ChatMessage]
                let add_generation_prompt: Bool
                let text: String
            }

            let templates: [String: String]
            let cases: [Case]
        }
        let cases = try JSONDecoder().decode(
            Cases.self, from: Data(contentsOf: FixtureFiles.url("chat-template-cases.json")))
        XCTAssertEqual(cases.cases.count, 24)
        for testCase in cases.cases {
            let template = try ChatTemplate(recognizing: cases.templates[testCase.template]!)
            let rendered = template.render(testCase.messages, addGenerationPrompt: testCase.add_generation_prompt)
            XCTAssertEqual(rendered.text, testCase.text, testCase.template)
            let answers = testCase.messages.filter { $0.role == .assistant }.map(\.content)
            XCTAssertEqual(rendered.assistantTexts.count, answers.count)
            for (span, answer) in zip(rendered.assistantTexts, answers) {
                XCTAssertTrue(
                    span.hasSuffix(template.endOfTurn)
                        && span.contains(answer.trimmingCharacters(in: .whitespacesAndNewlines)),
                    "\(testCase.template): span \(span.debugDescription)")
            }
        }
        XCTAssertEqual(
            try ChatTemplate(recognizing: cases.templates["qwen2.5"]!).defaultSystemPrompt,
            "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.")
        XCTAssertNil(try ChatTemplate(recognizing: cases.templates["chatml"]!).defaultSystemPrompt)
        XCTAssertEqual(
            try ChatTemplate(recognizing: cases.templates["llama3.1"]!).knowledgeDates, ChatTemplate.KnowledgeDates())
    }

    func testLoadsFromTokenizerConfigAndSidecar() throws {
        let folder = try temporaryFolder(self)
        XCTAssertNil(try ChatTemplate.load(fromFolder: folder))
        let config = folder.appendingPathComponent("tokenizer_config.json")
        let named = JSONValue.object([
            "chat_template": .array([
                .object(["name": .string("tool_use"), "template": .string("x")]),
                .object(["name": .string("default"), "template": .string(TokenizerConfigWriter.jinjaSource(.llama3))]),
            ])
        ])
        try named.serializedData(JSONLayout(indent: 2, sortKeys: true)).write(to: config)
        XCTAssertEqual(try ChatTemplate.load(fromFolder: folder), .llama3)
        try Data(TokenizerConfigWriter.jinjaSource(.chatML).utf8)
            .write(to: folder.appendingPathComponent("chat_template.jinja"))
        XCTAssertEqual(try ChatTemplate.load(fromFolder: folder), .chatML, "the sidecar file wins")
        try Data(#"{"chat_template": 3}"#.utf8).write(to: config)
        try FileManager.default.removeItem(at: folder.appendingPathComponent("chat_template.jinja"))
        assertFormatError(
            try ChatTemplate.load(fromFolder: folder), mentions: ["tokenizer_config.json", "chat_template"])
    }

    func testUnsupportedTemplatesAreErrors() {
        assertFormatError(
            try ChatTemplate(recognizing: "{{ '<s>[INST] ' + messages[0]['content'] + ' [/INST]' }}"),
            mentions: ["not one gputrain renders exactly", "chatml"])
        // ChatML's markers in a template that renders other text (here, no newline after the role).
        assertFormatError(
            try ChatTemplate(
                recognizing: "{% for m in messages %}<|im_start|>{{ m.role }}{{ m.content }}<|im_end|>{% endfor %}"),
            mentions: ["not one gputrain renders exactly"])
        assertFormatError(
            try ChatTemplate(recognizing: "<|im_start|><|im_end|>{% if '<think>' in content %}"),
            mentions: ["reasoning"])
        assertFormatError(try ChatTemplate.named("zephyr"), mentions: ["unknown template 'zephyr'"])
    }
}

import Formats
import Foundation

/// Draws a stage's `metrics.jsonl` as one self-contained SVG: a small line chart per numeric
/// key (title = key, minimum and maximum of both axes labelled), against the line's `step`.
/// Plain string building, deterministic: the same file gives the same bytes.
public enum MetricsPlot {
    /// The values of one key, in file order.
    public struct Series: Equatable, Sendable {
        public var key: String
        /// (step, value) pairs; non-finite values are left out.
        public var points: [(step: Double, value: Double)]

        public init(key: String, points: [(step: Double, value: Double)]) {
            self.key = key
            self.points = points
        }

        public static func == (lhs: Series, rhs: Series) -> Bool {
            lhs.key == rhs.key && lhs.points.map(\.step) == rhs.points.map(\.step)
                && lhs.points.map(\.value) == rhs.points.map(\.value)
        }
    }

    /// Keys that are bookkeeping rather than training curves (the x axis, the planned step
    /// count, the time left), never charted.
    public static let bookkeepingKeys: Set<String> = ["step", "total_steps", "eta_s"]

    /// The numeric series of a metrics file's text (one JSON object per line; blank lines are
    /// skipped), in order of each key's first appearance. A line without a numeric `step`
    /// counts as step = its line number.
    public static func series(jsonLines text: String, file: String, excluding excluded: Set<String> = bookkeepingKeys)
        throws -> [Series]
    {
        var order: [String] = []
        var points: [String: [(step: Double, value: Double)]] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            guard let object = try JSONValue.parse(Data(line.utf8), file: "\(file):\(index + 1)").objectValue else {
                throw FormatError(file: file, "line \(index + 1) is not a JSON object")
            }
            let step = object["step"]?.doubleValue ?? Double(index + 1)
            for entry in object.entries where !excluded.contains(entry.key) {
                // Booleans and strings are not curves; JSONValue keeps them apart from numbers.
                guard let value = entry.value.doubleValue, value.isFinite else { continue }
                if points[entry.key] == nil { order.append(entry.key) }
                points[entry.key, default: []].append((step, value))
            }
        }
        return order.map { Series(key: $0, points: points[$0]!) }
    }

    /// The chart of `series` as an SVG document titled `title`.
    public static func svg(_ series: [Series], title: String) -> String {
        let rows = max((series.count + columns - 1) / columns, 1)
        let width = Double(columns) * chartWidth
        let height = headerHeight + Double(rows) * chartHeight
        var parts = [
            #"<?xml version="1.0" encoding="UTF-8"?>"#,
            #"<svg xmlns="http://www.w3.org/2000/svg" width="\#(format(width))" height="\#(format(height))" "#
                + #"viewBox="0 0 \#(format(width)) \#(format(height))" font-family="sans-serif" font-size="11">"#,
            #"<rect width="100%" height="100%" fill="white"/>"#,
            #"<text x="8" y="20" font-size="14" font-weight="bold">\#(escaped(title))</text>"#,
        ]
        if series.isEmpty { parts.append(#"<text x="8" y="\#(format(headerHeight + 20))">no numeric metrics</text>"#) }
        // One step axis for all charts, so that a key logged on some steps only (val_loss) lines up with the rest.
        let steps = series.flatMap { $0.points.map(\.step) }
        let stepRange = (steps.min() ?? 0, steps.max() ?? 0)
        for (index, one) in series.enumerated() {
            let x = Double(index % columns) * chartWidth
            let y = headerHeight + Double(index / columns) * chartHeight
            parts.append(chart(one, steps: stepRange, x: x, y: y))
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n") + "\n"
    }

    /// Reads `metrics` and writes its chart to `svgFile` atomically; returns the series drawn.
    @discardableResult
    public static func write(metrics: URL, to svgFile: URL, title: String) throws -> [Series] {
        let text: String
        do {
            text = try String(contentsOf: metrics, encoding: .utf8)
        } catch {
            throw FormatError(file: metrics.path, "cannot be read: \(error.localizedDescription)")
        }
        let drawn = try series(jsonLines: text, file: metrics.path)
        try AtomicFile.write(Data(svg(drawn, title: title).utf8), to: svgFile)
        return drawn
    }

    // MARK: Layout

    private static let columns = 2
    private static let chartWidth = 360.0, chartHeight = 200.0, headerHeight = 32.0
    /// The plot area inside a chart: room for the title above, labels left and below.
    private static let axisColor = "#555555", lineColor = "#1f77b4"
    private static let plotLeft = 64.0, plotRight = 344.0, plotTop = 26.0, plotBottom = 170.0

    /// One chart in a group at (x, y), its step axis spanning `steps`.
    private static func chart(_ series: Series, steps: (low: Double, high: Double), x: Double, y: Double) -> String {
        let values = series.points.map(\.value)
        let (stepLow, stepHigh) = steps
        let (valueLow, valueHigh) = (values.min() ?? 0, values.max() ?? 0)
        let coordinates = series.points.map { point in
            (
                scale(point.step, stepLow, stepHigh, plotLeft, plotRight),
                scale(point.value, valueLow, valueHigh, plotBottom, plotTop)
            )
        }
        var lines = [
            #"<g transform="translate(\#(format(x)),\#(format(y)))">"#,
            #"<text x="\#(format(plotLeft))" y="16" font-size="12" font-weight="bold">\#(escaped(series.key))</text>"#,
            #"<path d="M\#(format(plotLeft)),\#(format(plotTop)) V\#(format(plotBottom)) H\#(format(plotRight))" fill="none" stroke="\#(axisColor)"/>"#,
            label(valueHigh, x: plotLeft - 4, y: plotTop + 4, anchor: "end"),
            label(valueLow, x: plotLeft - 4, y: plotBottom, anchor: "end"),
            label(stepLow, x: plotLeft, y: plotBottom + 14, anchor: "start"),
            label(stepHigh, x: plotRight, y: plotBottom + 14, anchor: "end"),
            #"<text x="\#(format((plotLeft + plotRight) / 2))" y="\#(format(plotBottom + 14))" text-anchor="middle" fill="\#(axisColor)">step</text>"#,
            #"<polyline fill="none" stroke="\#(lineColor)" stroke-width="1.5" points="\#(coordinates.map { "\(format($0.0)),\(format($0.1))" }.joined(separator: " "))"/>"#,
        ]
        // A lone point draws no line; mark it.
        if coordinates.count == 1 {
            lines.append(
                #"<circle cx="\#(format(coordinates[0].0))" cy="\#(format(coordinates[0].1))" r="2.5" fill="\#(lineColor)"/>"#
            )
        }
        lines.append("</g>")
        return lines.joined(separator: "\n")
    }

    /// `value` mapped from [low, high] onto [from, to]; the middle when the range is empty.
    private static func scale(_ value: Double, _ low: Double, _ high: Double, _ from: Double, _ to: Double) -> Double {
        high > low ? from + (value - low) / (high - low) * (to - from) : (from + to) / 2
    }

    private static func label(_ value: Double, x: Double, y: Double, anchor: String) -> String {
        #"<text x="\#(format(x))" y="\#(format(y))" text-anchor="\#(anchor)">\#(String(format: "%.4g", value))</text>"#
    }

    /// A coordinate with one decimal (fixed format, so the output is byte-stable).
    private static func format(_ value: Double) -> String { String(format: "%.1f", value) }

    /// `text` safe inside an XML element or attribute.
    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

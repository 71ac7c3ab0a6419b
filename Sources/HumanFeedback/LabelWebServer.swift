import FlyingFox
import FlyingSocks
import Formats
import Foundation

/// The web front end of `gputrain label`: a page served on 127.0.0.1 only (never another
/// interface: the page can rank and undo), and its JSON API, all going through one
/// `LabelSession` on one serial queue:
///
/// - `GET /`: the page (`LabelPage.html`, built into the binary);
/// - `GET /api/state`: the `LabelState` as JSON;
/// - `POST /api/rank` with `{"index": i, "ranking": [[0], [2, 1], [3]]}` (0-based answer indices,
///   best group first), `POST /api/skip` with `{"index": i}`, `POST /api/undo`: each answers with
///   the new state, or an error status with `{"error": message}`.
///
/// Requests that another site's page could make are refused (`RequestGuard`).
///
/// When the last prompt is decided the server stops (after the answer to that request has gone
/// out) and `serve` returns, so a finished session ends the command as the terminal one does.
public enum LabelWebServer {
    /// Serves `session` on 127.0.0.1:`port` (0: a free port) until every prompt is decided;
    /// once the server listens, the output is brought up to date with the session and
    /// `onListening` gets the page's address. A port that cannot be bound is an error naming
    /// it, and then nothing is written.
    public static func serve(_ session: LabelSession, port: UInt16, onListening: @escaping (URL) throws -> Void) throws
    {
        let outcome = OutcomeBox()
        let finished = DispatchSemaphore(value: 0)
        let queue = SessionQueue(session)
        Task.detached {
            do {
                try await run(queue, port: port, onListening: onListening)
            } catch {
                outcome.error = error
            }
            finished.signal()
        }
        finished.wait()
        if let error = outcome.error { throw error }
    }

    private static func run(_ queue: SessionQueue, port: UInt16, onListening: @escaping (URL) throws -> Void)
        async throws
    {
        let server = HTTPServer(address: try .inet(ip4: "127.0.0.1", port: port), timeout: 600, logger: .disabled)
        let (done, doneSignal) = AsyncStream<Void>.makeStream()
        let page = String(decoding: PackageResources.LabelPage_html, as: UTF8.self)
        let guardian = RequestGuard()
        await server.appendRoute("GET /") { request in
            if let refusal = guardian.refusal(of: request) { return refusal }
            return HTTPResponse(
                statusCode: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: Data(page.utf8))
        }
        await server.appendRoute("GET /api/state") { request in
            if let refusal = guardian.refusal(of: request) { return refusal }
            return await respond(queue) { session in try session.state() }
        }
        await server.appendRoute("POST /api/rank") { request in
            if let refusal = guardian.refusal(of: request) { return refusal }
            let body = try await request.bodyData
            return await respond(queue, finished: doneSignal) { session in
                let request = try APIRequest(body)
                let state = try current(session, shownOnPage: request.index())
                guard let groups = request.object["ranking"]?.arrayValue?.map({ $0.arrayValue ?? [] }),
                    groups.allSatisfy({ $0.allSatisfy { $0.intValue != nil } })
                else { throw LabelError("\"ranking\" must be a list of lists of answer indices") }
                let ranking = try Ranking(
                    groups: groups.map { $0.map { $0.intValue! } }, answerCount: state.answers.count)
                try session.rank(ranking, index: try request.index())
                return try session.state()
            }
        }
        await server.appendRoute("POST /api/skip") { request in
            if let refusal = guardian.refusal(of: request) { return refusal }
            let body = try await request.bodyData
            return await respond(queue, finished: doneSignal) { session in
                let index = try APIRequest(body).index()
                _ = try current(session, shownOnPage: index)
                try session.skip(index: index)
                return try session.state()
            }
        }
        await server.appendRoute("POST /api/undo") { request in
            if let refusal = guardian.refusal(of: request) { return refusal }
            return await respond(queue) { session in
                guard try session.undo() else { throw LabelError("nothing to undo") }
                return try session.state()
            }
        }

        try await withThrowingTaskGroup(of: Bool.self) { group in
            let listening = ListeningFlag()
            group.addTask {
                do {
                    try await server.run()
                } catch {
                    if listening.value { throw error }
                    throw LabelError(
                        "cannot listen on 127.0.0.1:\(port) (\(error.localizedDescription)); give --web another "
                            + "port, or --web 0 for a free one")
                }
                return false
            }
            group.addTask {
                try await server.waitUntilListening(timeout: 30)
                listening.value = true
                guard case .ip4(_, let bound)? = await server.listeningAddress else {
                    throw LabelError("the web server listens, but not on an IPv4 address")
                }
                guardian.port = bound
                // A process killed between a decision's two writes left the output one behind.
                try await queue.perform { try $0.refreshOutput() }
                try onListening(URL(string: "http://127.0.0.1:\(bound)/")!)
                for await _ in done { break }
                // The request that decided the last prompt is still being answered.
                try await Task.sleep(nanoseconds: 300_000_000)
                return true
            }
            // The first task to end ends both: every prompt decided, or the server gone.
            if try await group.next() == true { await server.stop(timeout: 1) }
            group.cancelAll()
        }
    }

    /// The state, when the page asks to decide its prompt `index` and that prompt is still the one
    /// to decide.
    private static func current(_ session: LabelSession, shownOnPage index: Int?) throws -> LabelState {
        let state = try session.state()
        guard !state.isDone else { throw LabelError("every prompt is decided") }
        if let index, index != state.index { throw StalePage(shown: index, current: state.index!) }
        return state
    }

    /// Runs `body` on the session's queue and answers with the state it returns as JSON, or
    /// with the error (400 for a bad request, 409 when the page is out of date). Signals
    /// `finished` when every prompt is then decided.
    private static func respond(
        _ queue: SessionQueue, finished: AsyncStream<Void>.Continuation? = nil,
        _ body: @escaping (LabelSession) throws -> LabelState
    ) async -> HTTPResponse {
        do {
            let state = try await queue.perform(body)
            if state.isDone { finished?.yield() }
            return json(state.json, status: .ok)
        } catch let error as StalePage {
            return json(.object(["error": .string(error.message)]), status: .conflict)
        } catch let error as LabelError {
            return json(.object(["error": .string(error.message)]), status: .badRequest)
        } catch {
            return json(.object(["error": .string("\(error)")]), status: .internalServerError)
        }
    }

    private static func json(_ value: Formats.JSONValue, status: HTTPStatusCode) -> HTTPResponse {
        HTTPResponse(
            statusCode: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: value.serializedData())
    }
}

/// Refuses requests that the page did not make: any whose `Host` is not this server's own
/// address (another site's page reaching 127.0.0.1 through a DNS name it controls), and a POST
/// without a JSON content type (a form or a script of another site can send one without asking;
/// a JSON one needs the server's consent, which it never gives).
private final class RequestGuard: @unchecked Sendable {
    private let lock = NSLock()
    private var listeningPort: UInt16?

    /// The port the server listens on, once it does.
    var port: UInt16? {
        get { lock.withLock { listeningPort } }
        set { lock.withLock { listeningPort = newValue } }
    }

    /// An error response for a request to refuse; `nil` for one to answer.
    func refusal(of request: HTTPRequest) -> HTTPResponse? {
        guard let port, let host = request.headers[.host]?.lowercased(),
            host == "127.0.0.1:\(port)" || host == "localhost:\(port)"
        else {
            return HTTPResponse(statusCode: .forbidden, body: Data("this server answers only http://127.0.0.1/\n".utf8))
        }
        if request.method == .POST,
            request.headers[.contentType]?.lowercased().hasPrefix("application/json") != true
        {
            return HTTPResponse(
                statusCode: .unsupportedMediaType, body: Data("the API takes application/json requests\n".utf8))
        }
        return nil
    }
}

/// A request body of the API: a JSON object.
private struct APIRequest {
    let object: JSONObject

    init(_ body: Data) throws {
        guard !body.isEmpty else {
            object = JSONObject()
            return
        }
        guard let object = (try? Formats.JSONValue.parse(body, file: "request"))?.objectValue else {
            throw LabelError("the request body is not a JSON object")
        }
        self.object = object
    }

    /// The prompt the page shows, when it says.
    func index() throws -> Int? {
        guard let value = object["index"], !value.isNull else { return nil }
        guard let index = value.intValue else { throw LabelError("\"index\" must be a prompt number") }
        return index
    }
}

/// A request to decide a prompt that is no longer the one to decide (another tab decided it).
private struct StalePage: Error {
    let shown: Int
    let current: Int

    var message: String {
        "this request is for prompt \(shown + 1), but prompt \(current + 1) is the one to decide "
            + "(another page decided it); reload"
    }
}

/// The session and the serial queue every request goes through, one at a time.
private final class SessionQueue: @unchecked Sendable {
    private let session: LabelSession
    private let queue = DispatchQueue(label: "gputrain.label.session")

    init(_ session: LabelSession) { self.session = session }

    func perform<T>(_ body: @escaping (LabelSession) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body(self.session) }) }
        }
    }
}

/// Whether the server got as far as listening (an error before that is the port's).
private final class ListeningFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var listening = false

    var value: Bool {
        get { lock.withLock { listening } }
        set { lock.withLock { listening = newValue } }
    }
}

/// The error `serve`'s task ended with, handed to the waiting thread.
private final class OutcomeBox: @unchecked Sendable {
    var error: Error?
}

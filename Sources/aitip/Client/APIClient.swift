import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A failure the CLI reports in one line and maps to an exit code (see `aitip --help`).
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32
    var description: String { message }

    static func notSignedIn(_ message: String) -> CLIError { CLIError(message: message, exitCode: 3) }
}

/// JSON over HTTP to an aitip server, with the saved or given credentials. An expired access token is refreshed
/// once, transparently, with the saved refresh token.
struct APIClient {
    let server: String
    private var credentials: SavedCredentials?
    private let explicitToken: String?

    static let timeout: TimeAmount = .seconds(30)

    init(server: String?, requireAuth: Bool = true) throws {
        let environment = ProcessInfo.processInfo.environment
        let saved = SavedCredentials.load()
        guard let server = server ?? environment["AITIP_SERVER"] ?? saved?.server else {
            throw CLIError.notSignedIn("No server given: pass --server URL, set AITIP_SERVER, or run 'aitip login --server URL'")
        }
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        explicitToken = environment["AITIP_TOKEN"]
        credentials = saved?.server == self.server ? saved : nil
        if requireAuth, explicitToken == nil, credentials == nil {
            throw CLIError.notSignedIn("Not signed in to \(self.server): run 'aitip login --server \(self.server)' or set AITIP_TOKEN")
        }
    }

    /// Sends a request and returns the decoded JSON body (nil for 204). Non-2xx answers become CLIError with the
    /// server's problem detail.
    mutating func send(_ method: HTTPMethod, _ path: String, query: [String: String?] = [:], body: [String: Any]? = nil,
                       headers: [String: String] = [:], authenticated: Bool = true) async throws -> Any? {
        var (status, data) = try await perform(method, path, query: query, body: body, headers: headers, authenticated: authenticated)
        if status == 401, authenticated, explicitToken == nil, let refresh = credentials?.refreshToken {
            if try await refreshTokens(refresh) {
                (status, data) = try await perform(method, path, query: query, body: body, headers: headers, authenticated: authenticated)
            }
        }
        guard (200..<300).contains(status) else { throw Self.problem(status: status, data: data) }
        guard !data.isEmpty else { return nil }
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    }

    private mutating func refreshTokens(_ refreshToken: String) async throws -> Bool {
        let (status, data) = try await perform(.POST, "/api/v1/auth/refresh", query: [:], body: ["refresh_token": refreshToken],
                                               headers: [:], authenticated: false)
        guard status == 200, let grant = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let access = grant["access_token"] as? String else { return false }
        credentials?.accessToken = access
        credentials?.refreshToken = grant["refresh_token"] as? String
        try credentials?.save()
        return true
    }

    private func perform(_ method: HTTPMethod, _ path: String, query: [String: String?], body: [String: Any]?,
                         headers: [String: String], authenticated: Bool) async throws -> (Int, Data) {
        var components = URLComponents(string: server + path)
        let items = query.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }.sorted { $0.name < $1.name }
        if !items.isEmpty { components?.queryItems = items }
        guard let url = components?.string else { throw CLIError(message: "Invalid server URL \(server)", exitCode: 2) }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if authenticated, let token = explicitToken ?? credentials?.accessToken {
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            // Sorted keys: the same command sends the same bytes, which an Idempotency-Key compares.
            request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])))
        }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: Self.timeout)
            let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
            return (Int(response.status.code), Data(buffer: buffer))
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError(message: "Cannot reach \(server): \(error)", exitCode: 4)
        }
    }

    /// Sends raw bytes (a code package) and returns the decoded JSON answer.
    func upload(_ path: String, query: [String: String?], data: Data, contentType: String) async throws -> Any? {
        var request = try makeRequest(.POST, path, query: query)
        request.headers.add(name: "Content-Type", value: contentType)
        request.body = .bytes(ByteBuffer(data: data))
        let response = try await execute(request)
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw Self.problem(status: Int(response.status.code), data: Data(buffer: buffer))
        }
        return try JSONSerialization.jsonObject(with: Data(buffer: buffer))
    }

    /// Streams a response body (Server-Sent Events) to `onChunk` as it arrives, with no time limit.
    func stream(_ path: String, query: [String: String?], accept: String, onChunk: (Data) throws -> Void) async throws {
        var request = try makeRequest(.GET, path, query: query)
        request.headers.replaceOrAdd(name: "Accept", value: accept)
        for try await buffer in try await openStream(request).body { try onChunk(Data(buffer: buffer)) }
    }

    /// Sends a request whose answer is read as it arrives (no time limit); a non-2xx answer becomes its problem.
    func openStream(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, deadline: .distantFuture)
        } catch {
            throw CLIError(message: "Cannot reach \(server): \(error)", exitCode: 4)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let buffer = try await response.body.collect(upTo: 1024 * 1024)
            throw Self.problem(status: Int(response.status.code), data: Data(buffer: buffer))
        }
        return response
    }

    func makeRequest(_ method: HTTPMethod, _ path: String, query: [String: String?]) throws -> HTTPClientRequest {
        var components = URLComponents(string: server + path)
        let items = query.compactMap { key, value in value.map { URLQueryItem(name: key, value: $0) } }.sorted { $0.name < $1.name }
        if !items.isEmpty { components?.queryItems = items }
        guard let url = components?.string else { throw CLIError(message: "Invalid server URL \(server)", exitCode: 2) }
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token = explicitToken ?? credentials?.accessToken { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    private func execute(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        do {
            return try await HTTPClient.shared.execute(request, timeout: Self.timeout)
        } catch {
            throw CLIError(message: "Cannot reach \(server): \(error)", exitCode: 4)
        }
    }

    static func problem(status: Int, data: Data) -> CLIError {
        let problem = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        var message = "Error \(status)"
        if let title = problem?["title"] as? String { message += " \(title)" }
        if let detail = problem?["detail"] as? String { message += ": \(detail)" }
        if let errors = problem?["errors"] as? [[String: Any]] {
            for error in errors { message += "\n  - \(error["field"] ?? ""): \(error["message"] ?? "")" }
        }
        if let requestId = problem?["request_id"] as? String { message += "\n  (request id \(requestId))" }
        return CLIError(message: message, exitCode: status == 401 ? 3 : 1)
    }
}

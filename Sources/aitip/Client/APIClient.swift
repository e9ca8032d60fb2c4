import AITIPAPI
import AITIPClient
import ArgumentParser
import Foundation
import OpenAPIRuntime

/// A failure the CLI reports in one line and maps to an exit code (see `aitip --help`).
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32
    var description: String { message }

    static func notSignedIn(_ message: String) -> CLIError { CLIError(message: message, exitCode: 3) }

    /// What a failed call means to the user: the server's problem (exit 1, or 3 when the credentials were refused),
    /// an answer that does not match the API (1), or a server that could not be reached (4).
    init(_ error: ClientError, server: String) {
        switch error.underlyingError {
        case let problem as ProblemError:
            self.init(message: problem.description, exitCode: problem.status == 401 ? 3 : 1)
        case let error as CLIError:
            self = error
        case is DecodingError, is EncodingError:
            self.init(message: "The answer of \(server) to \(error.operationID) does not match the API: \(error.underlyingError)", exitCode: 1)
        default:
            self.init(message: "Cannot reach \(server): \(error.underlyingError)", exitCode: 4)
        }
    }

    init(message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }
}

/// The HTTP status of a call's problem answer, if that is how it failed.
func problemStatus(_ error: any Error) -> Int? {
    ((error as? ClientError)?.underlyingError as? ProblemError)?.status
}

/// The API as the CLI calls it: the client generated from the server's OpenAPI document, for the server given, in
/// AITIP_SERVER or saved by `aitip login`, signed in with AITIP_TOKEN or the saved session.
struct APIClient {
    let server: String
    /// Calls that answer within 30 seconds.
    let api: Client
    /// The same operations without a practical time limit: followed logs and file transfers.
    let transfers: Client
    /// The credential the calls carry, for requests outside the API (the inference gateway).
    let tokens: (any BearerTokens)?

    init(server: String?, requireAuth: Bool = true) throws {
        let environment = ProcessInfo.processInfo.environment
        let saved = SavedCredentials.load()
        guard let server = server ?? environment["AITIP_SERVER"] ?? saved?.server else {
            throw CLIError.notSignedIn("No server given: pass --server URL, set AITIP_SERVER, or run 'aitip login --server URL'")
        }
        let root = server.hasSuffix("/") ? String(server.dropLast()) : server
        guard let url = URL(string: root), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            throw CLIError(message: "Invalid server URL \(server): give http(s)://host[:port]", exitCode: 2)
        }
        self.server = root
        let explicitToken = environment["AITIP_TOKEN"]
        let credentials = saved?.server == root ? saved : nil
        if requireAuth, explicitToken == nil, credentials == nil {
            throw CLIError.notSignedIn("Not signed in to \(root): run 'aitip login --server \(root)' or set AITIP_TOKEN")
        }
        let tokens: (any BearerTokens)? =
            explicitToken.map(FixedToken.init)
            ?? credentials.map { SavedSession(credentials: $0, refresher: Connection.client(server: url, tokens: nil)) }
        self.tokens = tokens
        api = Connection.client(server: url, tokens: tokens)
        transfers = Connection.client(server: url, tokens: tokens, patience: .transfer)
    }
}

/// AITIP_TOKEN: an access token or API key, used as it is.
struct FixedToken: BearerTokens {
    let token: String
    func current() async -> String? { token }
    func renew(after rejected: String) async -> String? { nil }
}

/// The session `aitip login` saved: an expired access token is renewed once with the refresh token, and the new
/// pair is saved for the next command.
actor SavedSession: BearerTokens {
    private var credentials: SavedCredentials
    private let refresher: Client

    init(credentials: SavedCredentials, refresher: Client) {
        self.credentials = credentials
        self.refresher = refresher
    }

    func current() -> String? { credentials.accessToken }

    func renew(after rejected: String) async -> String? {
        // Another call of this command may have renewed it already.
        guard credentials.accessToken == rejected else { return credentials.accessToken }
        guard let refreshToken = credentials.refreshToken,
            let grant = try? await refresher.refreshToken(body: .json(.init(refreshToken: refreshToken))).ok.body.json
        else { return nil }
        credentials.accessToken = grant.accessToken
        credentials.refreshToken = grant.refreshToken
        try? credentials.save()
        return grant.accessToken
    }
}

import Hummingbird

/// The OpenAPI runtime percent-encodes header values it writes (it treats them as URI components), which turns
/// `attachment; filename="a.csv"` into text no browser reads. Handlers build the header from safe ASCII, so it is
/// decoded back here.
struct ContentDispositionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let value = response.headers[.contentDisposition], value.contains("%"), let decoded = value.removingPercentEncoding {
            response.headers[.contentDisposition] = decoded
        }
        return response
    }
}

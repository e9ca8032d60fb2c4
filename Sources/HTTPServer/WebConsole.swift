import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Serves the built web console (web/dist) at `/`: index.html never cached (it names the current bundle), the
/// bundle and styles for five minutes. Without a build, `/` explains how to make one instead of failing.
enum WebConsole {
    static func addRoutes(to router: Router<AppRequestContext>, directory: String?) {
        let index = directory.map { URL(fileURLWithPath: $0).appendingPathComponent("index.html") }
        let page: @Sendable (Request, AppRequestContext) async throws -> Response = { _, _ in
            guard let index, let html = try? Data(contentsOf: index) else {
                return Response(
                    status: .ok, headers: htmlHeaders,
                    body: .init(byteBuffer: ByteBuffer(string: missingBuildPage(directory))))
            }
            return Response(status: .ok, headers: htmlHeaders, body: .init(byteBuffer: ByteBuffer(data: html)))
        }
        router.get("/", use: page)
        // An MLflow client whose tracking URI names the project prints run links below that prefix
        // (`…/mlflow/<org>/<project>/#/experiments/<id>/runs/<run>`): the console answers there too.
        router.get("/mlflow/:org/:project", use: page)
    }

    /// Static assets of the console, tried after routing found nothing (FileMiddleware serves on 404).
    static func assetMiddleware(directory: String, logger: Logger) -> FileMiddleware<AppRequestContext, LocalFileSystem> {
        FileMiddleware(
            directory,
            cacheControl: .init([
                (.textHtml, [.noCache]),
                (.textJavascript, [.maxAge(300)]),
                (.textCss, [.maxAge(300)]),
            ]), searchForIndexHtml: false, logger: logger)
    }

    private static var htmlHeaders: HTTPFields {
        [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-cache",
            SecurityHeadersMiddleware.contentSecurityPolicy:
                "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ]
    }

    private static func missingBuildPage(_ directory: String?) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><title>aitip</title></head>
        <body style="font:16px/1.5 system-ui,sans-serif;max-width:720px;margin:3rem auto;padding:0 1rem">
        <h1>aitip is running</h1>
        <p>The web console has not been built\(directory.map { " (nothing at <code>\(APIDocsPage.escape($0))/index.html</code>)" } ?? "").
        Build it with <code>web/build.sh</code> (Debian packages only, no npm registry) and reload, or point
        <code>AITIP_WEB_DIR</code> at a built console.</p>
        <p>The API works without it: see the <a href="/api/docs">API reference</a>, or use the <code>aitip</code> CLI.</p>
        </body></html>
        """
    }
}

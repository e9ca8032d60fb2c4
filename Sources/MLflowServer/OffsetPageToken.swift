import AITIPCore
import Foundation

/// MLflow's page tokens, opaque to its clients: an offset into the ranked result (the native API's lists use
/// AITIPCore's `Cursor` instead).
enum OffsetPageToken {
    static func encode(_ offset: Int) -> String {
        Data("offset:\(offset)".utf8).base64EncodedString()
    }

    static func decode(_ token: String?) throws(AppError) -> Int {
        guard let token, !token.isEmpty else { return 0 }
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8), text.hasPrefix("offset:"),
            let offset = Int(text.dropFirst("offset:".count)), offset >= 0
        else {
            throw AppError.badRequest("Invalid page_token: pass the next_page_token of a previous response")
        }
        return offset
    }
}

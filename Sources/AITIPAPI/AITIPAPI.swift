/// The OpenAPI document the server code is generated from, compiled into the binary (no resource bundle to ship).
package enum APISpec {
    package static func yaml() throws -> String {
        String(decoding: PackageResources.openapi_yaml, as: UTF8.self)
    }
}

import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// Counts and times every HTTP request under the project's own names (Hummingbird's
/// `MetricsMiddleware` records `hb_*` families without help text or units):
///
/// - `gateway_http_requests_total{route, method, status}`
/// - `gateway_http_request_errors_total{route, method, status}` (requests that ended in an error)
/// - `gateway_http_request_duration_seconds{route, method, status}` (histogram)
/// - `gateway_http_active_requests{method}`
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = HTTPMetricsCache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = cache.active(method: request.method.rawValue)
        active.increment()
        do {
            let response = try await next(request, context)
            // Every answer of this gateway is a buffered body, so the time to the response is the time to answer.
            let metrics = cache.endpoint(route: context.endpointPath ?? "unknown", method: request.method.rawValue, status: response.status.code)
            metrics.requests.increment()
            metrics.duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
            active.decrement()
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            let metrics = cache.endpoint(route: context.endpointPath ?? "unknown", method: request.method.rawValue, status: status)
            metrics.requests.increment()
            metrics.errors.increment()
            metrics.duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
            active.decrement()
            throw error
        }
    }
}

/// The metric objects per label set, made once and kept.
final class HTTPMetricsCache: Sendable {
    struct Endpoint: Sendable {
        let requests: Counter
        let errors: Counter
        let duration: Metrics.Timer
    }

    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private let endpoints = Mutex<[Key: Endpoint]>([:])
    private let actives = Mutex<[String: Meter]>([:])

    func endpoint(route: String, method: String, status: Int) -> Endpoint {
        let key = Key(route: route, method: method, status: status)
        return endpoints.withLock { map in
            if let known = map[key] { return known }
            let dimensions = [("route", route), ("method", method), ("status", String(status))]
            let made = Endpoint(
                requests: Counter(label: "gateway_http_requests_total", dimensions: dimensions),
                errors: Counter(label: "gateway_http_request_errors_total", dimensions: dimensions),
                duration: Metrics.Timer(label: "gateway_http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
            )
            map[key] = made
            return made
        }
    }

    func active(method: String) -> Meter {
        actives.withLock { map in
            if let known = map[method] { return known }
            let made = Meter(label: "gateway_http_active_requests", dimensions: [("method", method)])
            map[method] = made
            return made
        }
    }
}

import Metrics
import Prometheus

/// The process's Prometheus registry. Only an executable creates it (a second metrics bootstrap
/// crashes), then libraries record through swift-metrics and `/metrics` renders the registry.
public final class ProcessMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    private init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Bootstraps swift-metrics with a Prometheus registry. Call once, from the executable.
    public static func bootstrap() -> ProcessMetrics {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return ProcessMetrics(registry: registry)
    }

    /// A registry that nothing else records into, for tests and tools.
    public static func standalone() -> ProcessMetrics {
        ProcessMetrics(registry: PrometheusCollectorRegistry())
    }

    /// The Prometheus text exposition of every metric, with help text (`MetricHelp`).
    public func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        registry.emit(into: &buffer)
        return MetricHelp.annotate(buffer)
    }
}

import CZeroMQ

/// Socket option names, re-exported so that callers need not import the C module.
public enum ZMQOption {
    public static let linger = ZMQ_LINGER
    public static let sendHighWaterMark = ZMQ_SNDHWM
    public static let receiveHighWaterMark = ZMQ_RCVHWM
    public static let routerMandatory = ZMQ_ROUTER_MANDATORY
    public static let immediate = ZMQ_IMMEDIATE
    public static let subscribe = ZMQ_SUBSCRIBE
    public static let routingID = ZMQ_ROUTING_ID
    public static let reconnectInterval = ZMQ_RECONNECT_IVL
    public static let reconnectIntervalMax = ZMQ_RECONNECT_IVL_MAX
    public static let heartbeatInterval = ZMQ_HEARTBEAT_IVL
    public static let heartbeatTimeout = ZMQ_HEARTBEAT_TIMEOUT
    public static let heartbeatTTL = ZMQ_HEARTBEAT_TTL
    public static let tcpKeepalive = ZMQ_TCP_KEEPALIVE
    public static let xpubVerbose = ZMQ_XPUB_VERBOSE
    public static let sendTimeout = ZMQ_SNDTIMEO
    public static let receiveTimeout = ZMQ_RCVTIMEO
}

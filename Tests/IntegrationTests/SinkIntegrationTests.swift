import Testing

/// Every test that stops, pauses or reconfigures the shared RabbitMQ and MongoDB servers lives
/// in this suite, so they run one at a time; each leaves the servers running as it found them.
@Suite(.serialized) enum SinkIntegrationTests {}

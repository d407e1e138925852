import Monitor

/// Every notifier type, by config name: adding a notifier is one line here.
public enum NotifierKinds {
    public static let all: [NotifierKind] = [
        ConsoleNotifier.kind,
        EmailNotifier.kind,
        InfluxDBNotifier.v1Kind,
        InfluxDBNotifier.v2Kind,
        SlackNotifier.kind,
        MSTeamsNotifier.kind,
        RabbitMQNotifier.kind,
        MongoNotifier.kind,
    ]
}

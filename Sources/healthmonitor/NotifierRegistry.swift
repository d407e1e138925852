import Monitor
import Notifiers

/// Every notifier type, by config name: adding a notifier is one line here.
let notifierKinds: [NotifierKind] = [
    ConsoleNotifier.kind,
    EmailNotifier.kind,
    InfluxDBNotifier.v1Kind,
    InfluxDBNotifier.v2Kind,
    SlackNotifier.kind,
    MSTeamsNotifier.kind,
    RabbitMQNotifier.kind,
    MongoNotifier.kind,
]

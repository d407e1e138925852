import Monitor
import Notifiers

/// Every notifier type, by config name: adding a notifier is one line here.
let notifierKinds: [NotifierKind] = [
    ConsoleNotifier.kind,
    RabbitMQNotifier.kind,
    MongoNotifier.kind,
]

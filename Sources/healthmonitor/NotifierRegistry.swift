import Monitor
import Notifiers

/// The notifier types this executable offers (all of them; see `NotifierKinds`).
let notifierKinds: [NotifierKind] = NotifierKinds.all

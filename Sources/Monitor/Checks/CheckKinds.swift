/// Every check type the monitor knows, by config name.
public enum CheckKinds {
    /// All built-in check types.
    public static let all: [CheckKind] = [
        PingCheck.kind,
        HostPortCheck.kind,
        RandomCheck.kind,
        FileWriteCheck.kind,
        DownloadCheck.kind,
    ]
}

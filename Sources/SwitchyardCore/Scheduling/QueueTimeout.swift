/// A request's queue timeout: `queue.timeout`, or the client's header (seconds, decimals
/// allowed) capped at `queue.max_timeout`.
public enum QueueTimeout {
    public static func parse(_ header: String?, config: QueueConfig) -> Result<Duration, OpenAIError> {
        guard let header else { return .success(config.timeout) }
        var text = Substring(header)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        guard let seconds = Double(text), seconds.isFinite, seconds > 0 else {
            return .failure(
                OpenAIError(
                    status: 400,
                    message:
                        "The \(config.timeoutHeader) header must be a positive number of seconds, got \"\(header)\".",
                    param: config.timeoutHeader, reason: "invalid_queue_timeout"))
        }
        let requested = Duration.milliseconds(Int64(min(seconds, 1e9) * 1000))
        return .success(min(requested, config.maxTimeout))
    }
}

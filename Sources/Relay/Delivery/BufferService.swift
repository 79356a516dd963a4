import RetryBuffer
import ServiceLifecycle

/// Keeps the buffer open while the relay runs and closes it (sync, unlock) last on shutdown.
struct BufferService: Service {
    let buffer: RetryBuffer

    func run() async {
        try? await gracefulShutdown()
        await buffer.close()
    }
}

import Dispatch
import Relay

// A synchronous entry rather than `@main` with an async `main`: Swift's async entry parks the main
// thread in libdispatch's `dispatch_main`, where valgrind (3.19 and 3.24) crashes, and the
// `instructions` benchmark runs this binary's servers under callgrind. The servers run like the
// relay: tasks on the event loops (see `ProcessTuning`); the main thread only waits.
ProcessTuning.runTasksOnEventLoops()
let finished = DispatchSemaphore(value: 0)
Task.detached {
    await RelayBench.main(nil)
    finished.signal()
}
finished.wait()

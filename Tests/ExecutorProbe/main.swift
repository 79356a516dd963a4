// Installs the relay's global-executor hook in a process of its own (it cannot be undone, so the
// test process does not take it) and prints, as one JSON object, how tasks then run.
import Foundation
import NIOCore
import NIOPosix
import Relay

/// Touched only by one task and work on that task's own event loop, so from one thread.
final class StepCounter: @unchecked Sendable {
    var value = 0
}

actor Tally {
    private(set) var count = 0
    func bump() { count += 1 }
}

/// A nonisolated async function: it runs on the generic executor, like most of the request path.
nonisolated func step(_ counter: StepCounter) async {
    counter.value += 1
}

struct Report: Encodable {
    /// `ProcessTuning.runTasksOnEventLoops()` returned true.
    var installed = false
    /// A task started outside any loop ran on one of the process's event loops.
    var taskOnEventLoop = false
    /// How many of `steps` awaited calls had completed when work queued on the task's loop before
    /// the first of them ran: all of them when an await that needs no other executor continues at
    /// once, none when each goes back through the loop's queue.
    var stepsBeforeQueuedWork = -1
    var steps = 0
    /// After a call into an actor, the task continued on an event loop again.
    var onEventLoopAfterActor = false
}

let installed = ProcessTuning.runTasksOnEventLoops()
let steps = 1000
let report = await Task.detached { () -> Report in
    var report = Report(installed: installed, steps: steps)
    guard let loop = MultiThreadedEventLoopGroup.currentEventLoop else { return report }
    report.taskOnEventLoop = true
    let counter = StepCounter()
    let queuedWork = loop.submit { counter.value }
    for _ in 0..<steps { await step(counter) }
    report.stepsBeforeQueuedWork = (try? await queuedWork.get()) ?? -1
    let tally = Tally()
    await tally.bump()
    report.onEventLoopAfterActor = MultiThreadedEventLoopGroup.currentEventLoop != nil
    return report
}.value
let json = try JSONEncoder().encode(report)
print(String(decoding: json, as: UTF8.self))

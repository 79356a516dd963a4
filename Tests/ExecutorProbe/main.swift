// Makes the relay's process-wide settings in a process of its own (they cannot be undone, so the
// test process does not take them): glibc's malloc thresholds, then the global-executor hook; and
// prints, as one JSON object, how freed memory and tasks then behave.
import Foundation
import Glibc
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
    /// Page faults while 20 blocks of 1 MiB were allocated, written and freed one after another
    /// (after one warm-up block), with the relay's malloc thresholds.
    var pageFaultsFor20FreedBlocks = -1
}

/// Allocates and writes `bytes` (so every page is touched), frees them; returns one byte.
func fillAndFree(bytes: Int) -> Int {
    let block = [UInt8](repeating: 7, count: bytes)
    return Int(block[bytes / 2])
}

/// The calling thread's minor page faults so far.
func minorFaultsOfThisThread() -> Int {
    var usage = rusage()
    // RUSAGE_THREAD (1), which Glibc's module does not export.
    getrusage(__rusage_who_t(1), &usage)
    return usage.ru_minflt
}

// On the main thread, before any other thread exists to share its heap.
ProcessTuning.fixMallocThreshold()
var checksum = fillAndFree(bytes: 1 << 20)
let faultsBefore = minorFaultsOfThisThread()
for _ in 0..<20 { checksum += fillAndFree(bytes: 1 << 20) }
let pageFaults = checksum == 21 * 7 ? minorFaultsOfThisThread() - faultsBefore : -1

let installed = ProcessTuning.runTasksOnEventLoops()
let steps = 1000
let report = await Task.detached { () -> Report in
    var report = Report(installed: installed, steps: steps, pageFaultsFor20FreedBlocks: pageFaults)
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

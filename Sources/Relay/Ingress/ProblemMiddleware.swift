import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every error that escapes a route, including the router's own 404 and the body collector's
/// 413, into the relay's JSON error answer.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as HTTPProblem where problem.status == .methodNotAllowed {
            // Refused from the head: the body, if any, is unread.
            return problem.response(discardingBodyOf: request)
        } catch let problem as HTTPProblem {
            return problem.response
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                return HTTPProblem.notFound(request.uri.path).response(discardingBodyOf: request)
            case .contentTooLarge:
                return HTTPProblem(.contentTooLarge, "payload_too_large", error.body ?? "the body is too large")
                    .response
            default:
                let code = error.status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
                return HTTPProblem(error.status, code, error.body ?? error.status.reasonPhrase).response
            }
        } catch {
            logger.error("Unexpected error answering a request", metadata: [LogKey.error: "\(error)"])
            return HTTPProblem(.internalServerError, "internal_error", "the relay failed unexpectedly; see its log")
                .response
        }
    }
}

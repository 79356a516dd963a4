import Foundation
import Logging
import RelayKafka
import SenderKit

extension RelayConfiguration {
    /// Loads the configuration: defaults, overridden by the YAML file (`configPath`, else
    /// `RELAY_CONFIG`), overridden by environment variables.
    ///
    /// - Parameter senders: the senders a source's `scheme:` may name.
    /// - Throws: ``ConfigurationError`` naming the first key that is missing, malformed or unknown.
    public static func load(
        environment: [String: String],
        configPath: String? = nil,
        senders: SenderRegistry
    ) throws(ConfigurationError) -> RelayConfiguration {
        var loader = try makeLoader(environment: environment, configPath: configPath, senders: senders)
        let configuration = try loader.load()
        try loader.rejectUnknownKeys()
        return configuration
    }

    /// A loader over the environment and the YAML file named by `configPath` or `RELAY_CONFIG`.
    private static func makeLoader(
        environment: [String: String],
        configPath: String?,
        senders: SenderRegistry
    ) throws(ConfigurationError) -> ConfigurationLoader {
        ConfigurationLoader(
            tree: try tree(environment: environment, configPath: configPath),
            environment: environment,
            senders: senders
        )
    }

    /// The YAML file named by `configPath` or `RELAY_CONFIG`, parsed; empty without one.
    private static func tree(
        environment: [String: String],
        configPath: String?
    ) throws(ConfigurationError) -> ConfigTree {
        guard let path = configPath ?? environment[Setting.configFile.environment].flatMap({ $0.isEmpty ? nil : $0 })
        else {
            return .map([])
        }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(.configFile, "cannot read \(path): \(error.localizedDescription)")
        }
        return try ConfigTree.parse(yaml: text, path: path)
    }
}

extension RelayConfiguration {
    /// Only the Kafka settings (for tools that publish, such as an offline replay).
    public static func loadKafka(
        environment: [String: String],
        configPath: String? = nil
    ) throws(ConfigurationError) -> Kafka {
        var loader = try makeLoader(environment: environment, configPath: configPath, senders: SenderRegistry([]))
        return try loader.kafkaSettings()
    }

    /// Only the buffer settings (for the tools that open a stopped relay's buffer with `--path`:
    /// a replay keeps the configured archive retention, not the default).
    public static func loadBuffer(
        environment: [String: String],
        configPath: String? = nil
    ) throws(ConfigurationError) -> Buffer {
        var loader = try makeLoader(environment: environment, configPath: configPath, senders: SenderRegistry([]))
        return try loader.bufferSettings()
    }

    /// Only the admin settings (for the tools that call a running relay's admin API), read as the
    /// relay reads them: `admin.token_file` wins over `admin.token`.
    public static func loadAdmin(
        environment: [String: String],
        configPath: String? = nil
    ) throws(ConfigurationError) -> Admin {
        var loader = try makeLoader(environment: environment, configPath: configPath, senders: SenderRegistry([]))
        return try loader.adminSettings()
    }

    /// Only the sources (for tools that sign, such as `webhook-relay sign`).
    public static func loadSources(
        environment: [String: String],
        configPath: String? = nil,
        senders: SenderRegistry
    ) throws(ConfigurationError) -> [Source] {
        var loader = try makeLoader(environment: environment, configPath: configPath, senders: senders)
        var sources: [Source] = []
        for name in try loader.sourceNames() {
            sources.append(try loader.source(named: name))
        }
        return sources
    }
}

/// Reads settings through the ``Setting`` table, environment first, and remembers which YAML keys
/// it used so that a misspelt key is reported instead of silently ignored.
struct ConfigurationLoader {
    private let tree: ConfigTree
    private let environment: [String: String]
    private let senders: SenderRegistry
    /// Keys read through a setting; everything below them is theirs (e.g. `kafka.properties.*`).
    private var consumed: Set<String> = []
    /// What the loaded configuration allows but an operator should hear about, logged at start.
    private var warnings: [String] = []
    /// Mappings that are known but may be empty (`sources`, `sources.<name>`); their children are not.
    private var containers: Set<String> = []
    /// Every setting read, with its value (see ``RelayConfiguration/settingValues``), by key; the
    /// order of first reading in `readOrder`.
    private var values: [String: RelayConfiguration.SettingValue] = [:]
    private var readOrder: [String] = []

    init(tree: ConfigTree, environment: [String: String], senders: SenderRegistry) {
        self.tree = tree
        self.environment = environment
        self.senders = senders
    }

    mutating func load() throws(ConfigurationError) -> RelayConfiguration {
        var http = RelayConfiguration.HTTP(
            host: try textOrDefault(.httpHost),
            port: try integer(.httpPort),
            maxBodySize: try byteSize(.httpMaxBodySize),
            maxBodyBytesInFlight: 0,
            idleTimeout: try duration(.httpIdleTimeout),
            requestTimeout: try duration(.httpRequestTimeout),
            tlsCertificatePath: try readablePath(.httpTLSCertificate),
            tlsKeyPath: try readablePath(.httpTLSKey)
        )
        // Unset, the budget is 64 MiB, or one body of the largest size if that is more.
        http.maxBodyBytesInFlight =
            try text(.httpMaxBodyBytesInFlight) == nil
            ? max(64 << 20, http.maxBodySize) : try byteSize(.httpMaxBodyBytesInFlight)
        noteDerived(.httpMaxBodyBytesInFlight, String(http.maxBodyBytesInFlight))
        guard http.maxBodyBytesInFlight >= http.maxBodySize else {
            throw ConfigurationError(
                .httpMaxBodyBytesInFlight,
                "must be at least http.max_body_size (\(http.maxBodySize) bytes), or no body of that size fits"
            )
        }
        if (http.tlsCertificatePath == nil) != (http.tlsKeyPath == nil) {
            throw ConfigurationError(
                http.tlsKeyPath == nil ? .httpTLSKey : .httpTLSCertificate,
                "TLS needs both a certificate and a key"
            )
        }
        let kafka = try kafkaSettings()
        let buffer = try bufferSettings()
        let retry = RelayConfiguration.Retry(
            initialBackoff: try duration(.retryInitialBackoff),
            maximumBackoff: try duration(.retryMaxBackoff),
            maximumInFlight: try integer(.retryMaxInFlight)
        )
        guard retry.initialBackoff <= retry.maximumBackoff else {
            throw ConfigurationError(.retryMaxBackoff, "must be at least retry.initial_backoff")
        }
        let admin = try adminSettings()
        let logging = RelayConfiguration.Logging(
            level: try choice(.logLevel, Logger.Level.self),
            format: try choice(.logFormat, RelayConfiguration.Logging.Format.self)
        )
        let tracing = try tracingSettings()
        var sources: [RelayConfiguration.Source] = []
        for name in try sourceNames() {
            let source = try source(named: name)
            warnings += source.scheme.warnings.map { "sources.\(name): \($0)" }
            sources.append(source)
        }
        return RelayConfiguration(
            http: http,
            kafka: kafka,
            buffer: buffer,
            dedup: RelayConfiguration.Dedup(maximumEntries: try integer(.dedupMaxEntries)),
            retry: retry,
            admin: admin,
            sources: sources,
            logging: logging,
            tracing: tracing,
            shutdownTimeout: try duration(.shutdownTimeout),
            warnings: warnings,
            settingValues: readOrder.compactMap { values[$0] }
        )
    }

    /// Records what `setting` was read as.
    private mutating func note(_ setting: Setting, _ value: RelayConfiguration.SettingValue.Value?) {
        guard let value else { return }
        if values[setting.key] == nil { readOrder.append(setting.key) }
        values[setting.key] = RelayConfiguration.SettingValue(setting: setting, value: value)
    }

    /// The raw text of a setting, or its default from the table, which is then recorded as its value.
    private mutating func textOrNotedDefault(_ setting: Setting) throws(ConfigurationError) -> String {
        if let text = try text(setting) { return text }
        let value = setting.defaultValue ?? ""
        note(setting, .text(value))
        return value
    }

    /// Records a value the relay derived for a setting that was not set (e.g. a sender's dedup window).
    private mutating func noteDerived(_ setting: Setting, _ text: String) {
        guard values[setting.key] == nil else { return }
        note(setting, .text(text))
    }

    mutating func bufferSettings() throws(ConfigurationError) -> RelayConfiguration.Buffer {
        let buffer = RelayConfiguration.Buffer(
            path: try textOrDefault(.bufferPath),
            maximumSize: try byteSize(.bufferMaxSize),
            segmentSize: try byteSize(.bufferSegmentSize),
            archiveRetention: try duration(.archiveRetention)
        )
        guard buffer.segmentSize <= buffer.maximumSize else {
            throw ConfigurationError(.bufferSegmentSize, "must not be larger than buffer.max_size")
        }
        return buffer
    }

    mutating func kafkaSettings() throws(ConfigurationError) -> RelayConfiguration.Kafka {
        guard let bootstrap = try text(.kafkaBootstrapServers), !bootstrap.isEmpty else {
            throw ConfigurationError(.kafkaBootstrapServers, "is required (e.g. kafka:9092)")
        }
        var properties = try kafkaProperties()
        let mskIAM = try mskIAMSettings(properties: &properties)
        return RelayConfiguration.Kafka(
            bootstrapServers: bootstrap,
            publishTimeout: try duration(.kafkaPublishTimeout),
            flushTimeout: try duration(.kafkaFlushTimeout),
            warmupTimeout: try duration(.kafkaWarmupTimeout),
            properties: properties,
            createTopics: try boolean(.kafkaCreateTopics),
            topicPartitions: try integer(.kafkaTopicPartitions),
            topicReplicationFactor: try integer(.kafkaTopicReplicationFactor),
            mskIAM: mskIAM
        )
    }

    /// `kafka.aws_msk_iam`: with a region, IAM sign-in (SASL_SSL and OAUTHBEARER, tokens from the
    /// relay rather than from librdkafka); a property that says otherwise is an error, not overridden.
    private mutating func mskIAMSettings(
        properties: inout [String: String]
    ) throws(ConfigurationError) -> RelayConfiguration.MSKIAM? {
        let role = try text(.kafkaMSKIAMRoleARN)
        guard let region = try text(.kafkaMSKIAMRegion) else {
            if role != nil { throw ConfigurationError(.kafkaMSKIAMRoleARN, "needs kafka.aws_msk_iam.region too") }
            return nil
        }
        let parts = region.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLowercase || $0.isNumber } }),
            parts.last!.allSatisfy(\.isNumber)
        else {
            throw ConfigurationError(.kafkaMSKIAMRegion, "'\(region.prefix(40))' is not an AWS region (e.g. eu-west-1)")
        }
        if let role,
            !(role.hasPrefix("arn:aws:iam::") || role.hasPrefix("arn:aws-cn:iam::")
                || role.hasPrefix("arn:aws-us-gov:iam::"))
        {
            throw ConfigurationError(
                .kafkaMSKIAMRoleARN,
                "'\(role.prefix(60))' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
            )
        }
        for (key, required) in [
            ("security.protocol", "SASL_SSL"), ("sasl.mechanism", "OAUTHBEARER"), ("sasl.mechanisms", "OAUTHBEARER"),
        ] {
            if let value = properties[key], value.uppercased() != required {
                throw Self.propertyError(
                    key,
                    "must be '\(required)' or unset with kafka.aws_msk_iam (IAM signs in over SASL_SSL with OAUTHBEARER)"
                )
            }
        }
        if properties["sasl.oauthbearer.method"] != nil {
            throw Self.propertyError(
                "sasl.oauthbearer.method",
                "must be unset with kafka.aws_msk_iam: the relay makes the IAM tokens"
            )
        }
        properties["security.protocol"] = "SASL_SSL"
        if properties["sasl.mechanisms"] == nil { properties["sasl.mechanism"] = "OAUTHBEARER" }
        note(.kafkaProperties, .map(properties))
        return RelayConfiguration.MSKIAM(region: region, roleARN: role)
    }

    /// `tracing`: on with an endpoint (`tracing.endpoint`, or OpenTelemetry's general
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` with `/v1/traces` added), unless `OTEL_SDK_DISABLED` is true.
    private mutating func tracingSettings() throws(ConfigurationError) -> RelayConfiguration.Tracing? {
        var endpoint = try text(.tracingEndpoint)
        if endpoint == nil, let base = environment["OTEL_EXPORTER_OTLP_ENDPOINT"], !base.isEmpty {
            let derived = base.hasSuffix("/") ? base + "v1/traces" : base + "/v1/traces"
            noteDerived(.tracingEndpoint, derived)
            endpoint = derived
        }
        let disabled = try boolean(.tracingDisabled)
        let serviceName = try textOrDefault(.tracingServiceName)
        let samplerName = try textOrDefault(.tracingSampler).lowercased()
        let argument = try text(.tracingSamplerArgument)
        let maximumQueueSize = try integer(.tracingMaxQueueSize)
        let exportInterval = try duration(.tracingExportInterval)
        let exportTimeout = try duration(.tracingExportTimeout)
        guard let endpoint, !disabled else { return nil }
        guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme?.lowercased()), url.host != nil
        else {
            throw ConfigurationError(.tracingEndpoint, "'\(endpoint.prefix(100))' is not an http or https URL")
        }
        var ratio = 1.0
        if let argument {
            guard let value = Double(argument), (0...1).contains(value) else {
                throw ConfigurationError(.tracingSamplerArgument, "'\(argument.prefix(20))' is not a ratio from 0 to 1")
            }
            ratio = value
        }
        let sampler: RelayConfiguration.Tracing.Sampler
        switch samplerName {
        case "always_on": sampler = .alwaysOn
        case "always_off": sampler = .alwaysOff
        case "traceidratio": sampler = .traceIDRatio(ratio)
        case "parentbased_always_on": sampler = .parentBasedAlwaysOn
        case "parentbased_always_off": sampler = .parentBasedAlwaysOff
        case "parentbased_traceidratio": sampler = .parentBasedTraceIDRatio(ratio)
        default:
            throw ConfigurationError(
                .tracingSampler,
                "'\(samplerName.prefix(40))' is not one of always_on, always_off, traceidratio, "
                    + "parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
            )
        }
        return RelayConfiguration.Tracing(
            endpoint: endpoint,
            serviceName: serviceName,
            sampler: sampler,
            maximumQueueSize: maximumQueueSize,
            exportInterval: exportInterval,
            exportTimeout: exportTimeout
        )
    }

    func rejectUnknownKeys() throws(ConfigurationError) {
        for path in tree.leafPaths() {
            let known = containers.contains(path) || consumed.contains { path == $0 || path.hasPrefix($0 + ".") }
            if !known {
                throw ConfigurationError(key: path, problem: "unknown setting (see `webhook-relay config reference`)")
            }
        }
    }

    // MARK: Sources

    mutating func sourceNames() throws(ConfigurationError) -> [String] {
        var names: [String] = []
        if case .map(let pairs)? = tree.node(at: "sources") {
            names = pairs.map(\.0)
        } else if tree.node(at: "sources") != nil {
            throw ConfigurationError(key: "sources", problem: "must be a mapping of source names to settings")
        }
        containers.insert("sources")
        containers.formUnion(names.map { "sources.\($0)" })
        for name in impliedSourceNames() where !names.contains(name) {
            names.append(name)
        }
        guard !names.isEmpty else {
            let example = senders.names.first ?? "name"
            throw ConfigurationError(
                .sourceSecrets.forSource(example),
                "no webhook source is configured; set the secrets of a sender (\(senders.names.joined(separator: ", "))) or add sources: to the configuration file"
            )
        }
        for name in names where name.range(of: "^[a-z][a-z0-9-]{0,62}$", options: .regularExpression) == nil {
            throw ConfigurationError(key: "sources.\(name)", problem: "source names must match ^[a-z][a-z0-9-]{0,62}$")
        }
        return names
    }

    /// Sources that need no YAML: one named after a sender whose per-source variables are set
    /// (`RELAY_GITHUB_SECRETS`), and one for every `RELAY_<NAME>_SCHEME`.
    private func impliedSourceNames() -> [String] {
        let set = environment.filter { !$0.value.isEmpty }.keys
        var names: [String] = []
        for sender in senders.senders {
            let variables = (Setting.all + sender.settings).filter { $0.key.contains("<source>") }
                .map { $0.forSource(sender.name).environment }
            if variables.contains(where: set.contains) { names.append(sender.name) }
        }
        let prefix = "RELAY_"
        let suffix = "_SCHEME"
        for variable in set.sorted() where variable.hasPrefix(prefix) && variable.hasSuffix(suffix) {
            let middle = variable.dropFirst(prefix.count).dropLast(suffix.count)
            let name = middle.lowercased().replacingOccurrences(of: "_", with: "-")
            if !name.isEmpty, !names.contains(name) { names.append(name) }
        }
        return names
    }

    mutating func source(named name: String) throws(ConfigurationError) -> RelayConfiguration.Source {
        let schemeSetting = Setting.sourceScheme.forSource(name)
        let sender: any Sender
        if let schemeText = try text(schemeSetting) {
            guard let named = senders.sender(named: schemeText) else {
                throw ConfigurationError(
                    schemeSetting,
                    "unknown scheme '\(schemeText.prefix(100))' (known: \(senders.names.joined(separator: ", ")))"
                )
            }
            sender = named
        } else if let implied = senders.sender(named: name) {
            sender = implied
        } else {
            throw ConfigurationError(
                schemeSetting,
                "is required for a source not named after its scheme (known: \(senders.names.joined(separator: ", ")))"
            )
        }

        noteDerived(schemeSetting, sender.name)
        let secrets = sender.usesSecrets ? try secrets(of: name) : try noSecrets(of: name, sender: sender)
        let toleranceSetting = Setting.sourceTimestampTolerance.forSource(name)
        let toleranceIsSet = try text(toleranceSetting) != nil
        let tolerance = try optionalDuration(toleranceSetting)?.wholeSeconds ?? sender.defaults.timestampTolerance
        noteDerived(toleranceSetting, "\(tolerance)s")
        let publicURL = try publicURL(of: name)
        var settings = LoadedSourceSettings(
            name: name,
            secrets: secrets,
            secretsSetting: .sourceSecrets.forSource(name),
            timestampTolerance: tolerance,
            publicURL: publicURL,
            loader: self
        )
        let scheme = try sender.makeScheme(for: &settings)
        self = settings.loader
        if toleranceIsSet, !scheme.checksTimestamps {
            throw ConfigurationError(
                toleranceSetting,
                "has no effect: \(sender.name) deliveries carry no signed timestamp (set dedup_window instead)"
            )
        }
        let windowSetting = Setting.sourceDedupWindow.forSource(name)
        let formerWindowSetting = Setting.sourceReplayWindow.forSource(name)
        // A sender whose own tolerance is seconds (Paddle's 5) still has its deliveries remembered
        // for five minutes, so a retry soon after a lost reply is a duplicate.
        let defaultWindow =
            !scheme.signsTimestamps
            ? RelayConfiguration.Source.untimestampedDedupWindow
            : toleranceIsSet ? tolerance : max(tolerance, RelayConfiguration.Source.timedDedupWindow)
        var (configuredWindow, usedWindowSetting) = (try optionalDuration(windowSetting), windowSetting)
        if let former = try optionalDuration(formerWindowSetting) {
            warnings.append("\(formerWindowSetting.key) is deprecated: call it \(windowSetting.key)")
            if configuredWindow == nil { (configuredWindow, usedWindowSetting) = (former, formerWindowSetting) }
        }
        let window = configuredWindow?.wholeSeconds ?? defaultWindow
        guard window >= tolerance || !scheme.signsTimestamps else {
            throw ConfigurationError(usedWindowSetting, "must be at least the timestamp tolerance (\(tolerance)s)")
        }
        guard window > 0 else { throw ConfigurationError(usedWindowSetting, "must be at least 1s") }
        noteDerived(windowSetting, "\(window)s")
        let rateLimit = try integer(.sourceRateLimit.forSource(name))
        let burstSetting = Setting.sourceRateLimitBurst.forSource(name)
        let burst = try text(burstSetting) == nil ? rateLimit : try integer(burstSetting)
        let templateSetting = Setting.sourceTopicTemplate.forSource(name)
        let template = try text(templateSetting) ?? sender.defaults.topicTemplate
        noteDerived(templateSetting, template)
        let overridesSetting = Setting.sourceTopics.forSource(name)
        let overrides = try stringMap(overridesSetting)
        for eventType in overrides.keys.sorted() {
            if let problem = sender.eventTypeProblem(eventType) {
                throw ConfigurationError(
                    overridesSetting,
                    "'\(eventType.prefix(100))' is not an event type (\(problem))"
                )
            }
        }
        do {
            _ = try TopicRouter(template: template, overrides: overrides)
        } catch {
            throw ConfigurationError(templateSetting, error.description)
        }
        let keySetting = Setting.sourceKey.forSource(name)
        var key: JSONPointer?
        if let keyText = try text(keySetting) {
            guard let pointer = JSONPointer(keyText) else { throw ConfigurationError(keySetting, JSONPointer.rule) }
            key = pointer
        }
        return RelayConfiguration.Source(
            name: name,
            sender: sender,
            scheme: scheme,
            secrets: secrets,
            timestampTolerance: tolerance,
            publicURL: publicURL,
            dedupWindow: window,
            rateLimit: rateLimit,
            rateLimitBurst: burst,
            cloudEventSource: try cloudEventSource(of: name, default: sender.defaults.cloudEventSource),
            topicTemplate: template,
            topicOverrides: overrides,
            key: key,
            contentMode: try choice(.sourceContentMode.forSource(name), CloudEventEnvelope.ContentMode.self),
            deadLetterTopic: try deadLetterTopic(of: name)
        )
    }

    fileprivate mutating func adminSettings() throws(ConfigurationError) -> RelayConfiguration.Admin {
        let host = try textOrDefault(.adminHost)
        var token = try text(.adminToken)
        if let file = try text(.adminTokenFile) {
            do {
                token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
            } catch {
                throw ConfigurationError(.adminTokenFile, "cannot read \(file): \(error.localizedDescription)")
            }
        }
        if let token, token.utf8.count < 16 {
            throw ConfigurationError(.adminToken, "must be at least 16 characters long")
        }
        if let token, SecretStrength.isPlaceholder(token) {
            throw ConfigurationError(
                .adminToken,
                "is a placeholder from the documentation; generate one (openssl rand -hex 24)"
            )
        }
        if !HostAddress.isLoopback(host), token == nil {
            throw ConfigurationError(
                .adminToken,
                "is required when the admin listener is not on loopback (admin.host is \(host))"
            )
        }
        return RelayConfiguration.Admin(
            host: host,
            port: try integer(.adminPort),
            token: token,
            allowedHosts: try list(.adminAllowedHosts)
        )
    }

    private mutating func cloudEventSource(of name: String, default: String) throws(ConfigurationError) -> String {
        let setting = Setting.sourceCloudEventSource.forSource(name)
        let value = try text(setting) ?? `default`
        noteDerived(setting, value)
        return value
    }

    /// An absolute http(s) URL without a query or fragment: the relay appends the query each
    /// request arrives with, as the sender signed it.
    private mutating func publicURL(of name: String) throws(ConfigurationError) -> String? {
        let setting = Setting.sourcePublicURL.forSource(name)
        guard let text = try text(setting) else { return nil }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", url.host?.isEmpty == false
        else {
            throw ConfigurationError(
                setting,
                "must be an absolute http or https URL, e.g. https://hooks.example.com/webhooks/\(name)"
            )
        }
        guard url.query == nil, url.fragment == nil else {
            throw ConfigurationError(
                setting,
                "must not have a query or fragment: the relay appends the query each request arrives with"
            )
        }
        return text
    }

    private mutating func deadLetterTopic(of name: String) throws(ConfigurationError) -> String {
        let setting = Setting.sourceDeadLetterTopic.forSource(name)
        let topic = try text(setting) ?? "\(name).deadletter"
        noteDerived(setting, topic)
        if let problem = TopicRouter.problem(withTopicName: topic) {
            throw ConfigurationError(setting, "'\(topic)' \(problem)")
        }
        return topic
    }

    /// For a sender that takes no secrets (its requests name the certificate that signed them):
    /// none may be set, so no one believes a secret protects the source.
    private mutating func noSecrets(of name: String, sender: any Sender) throws(ConfigurationError) -> [String] {
        let listSetting = Setting.sourceSecrets.forSource(name)
        let fileSetting = Setting.sourceSecretsFile.forSource(name)
        let listed = try list(listSetting)
        let file = try text(fileSetting)
        if !listed.isEmpty || file != nil {
            throw ConfigurationError(
                listSetting,
                "\(sender.name) takes no secret: its requests are signed with the sender's certificate; remove it"
            )
        }
        return []
    }

    mutating func secrets(of name: String) throws(ConfigurationError) -> [String] {
        let listSetting = Setting.sourceSecrets.forSource(name)
        let fileSetting = Setting.sourceSecretsFile.forSource(name)
        var secrets = try list(listSetting)
        if let file = try text(fileSetting) {
            let contents: String
            do {
                contents = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ConfigurationError(fileSetting, "cannot read \(file): \(error.localizedDescription)")
            }
            secrets += Self.splitList(contents, separators: [",", "\n", "\r"])
        }
        guard !secrets.isEmpty else {
            throw ConfigurationError(listSetting, "at least one secret is required (or \(fileSetting.environment))")
        }
        note(listSetting, .list(secrets))
        // Never echo a secret, not even a short or a placeholder one: name its position.
        for (index, secret) in secrets.enumerated() {
            if SecretStrength.isPlaceholder(secret) {
                throw ConfigurationError(
                    listSetting,
                    "secret \(index + 1) is a placeholder from the documentation; use the sender's real secret"
                )
            }
            if secret.utf8.count < SecretStrength.minimumLength {
                throw ConfigurationError(
                    listSetting,
                    "secret \(index + 1) is shorter than \(SecretStrength.minimumLength) bytes; every secret must be at least "
                        + "\(SecretStrength.minimumLength) (\(SecretStrength.recommendedLength) or more recommended)"
                )
            }
            if secret.utf8.count < SecretStrength.recommendedLength {
                warnings.append(
                    "\(listSetting.key): secret \(index + 1) is shorter than \(SecretStrength.recommendedLength) bytes; "
                        + "prefer a longer one where the sender lets you choose"
                )
            }
        }
        return secrets
    }

    // MARK: Kafka properties

    private mutating func kafkaProperties() throws(ConfigurationError) -> [String: String] {
        var properties = try stringMap(.kafkaProperties, fromEnvironment: false)
        let prefix = "RELAY_KAFKA_PROPERTY_"
        for (variable, value) in environment.sorted(by: { $0.key < $1.key })
        where variable.hasPrefix(prefix) && variable.count > prefix.count {
            var name = String(variable.dropFirst(prefix.count))
            var value = value
            // RELAY_KAFKA_PROPERTY_SASL_PASSWORD_FILE: the value is in a file (Kubernetes secret mounts).
            if name.hasSuffix("_FILE"), environment[String(variable.dropLast("_FILE".count))] == nil {
                name = String(name.dropLast("_FILE".count))
                do {
                    value = try String(contentsOfFile: value, encoding: .utf8).trimmingCharacters(
                        in: .whitespacesAndNewlines
                    )
                } catch {
                    throw ConfigurationError(
                        key: "kafka.properties",
                        environment: variable,
                        problem: "cannot read \(value): \(error.localizedDescription)"
                    )
                }
            }
            properties[name.lowercased().replacingOccurrences(of: "_", with: ".")] = value
        }
        if !properties.isEmpty { note(.kafkaProperties, .map(properties)) }
        if let (key, value) = KafkaProducerConfiguration.weakenedProperty(in: properties) {
            throw Self.propertyError(
                key,
                "must be '\(value)': the relay acknowledges webhooks only once Kafka has them"
            )
        }
        if let (key, problem) = KafkaProducerConfiguration.unsupportedProperty(in: properties) {
            throw Self.propertyError(key, problem)
        }
        return properties
    }

    /// An error naming the librdkafka property `key` as a setting and as its variable.
    private static func propertyError(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(
            key: "kafka.properties.\(key)",
            environment: Setting.kafkaPropertyVariable(key),
            problem: problem
        )
    }

    // MARK: Typed readers

    /// The raw text of a setting: the environment variable if set and non-empty, else the YAML scalar.
    mutating func text(_ setting: Setting) throws(ConfigurationError) -> String? {
        consumed.insert(setting.key)
        let value: String?
        if let variable = environment[setting.environment], !variable.isEmpty {
            value = variable
        } else {
            switch tree.node(at: setting.key) {
            case nil: value = nil
            case .scalar(let scalar)?: value = scalar
            default: throw ConfigurationError(setting, "must be a single value")
            }
        }
        note(setting, value.map { .text($0) })
        return value
    }

    /// The raw text of a setting, or its default from the table.
    private mutating func textOrDefault(_ setting: Setting) throws(ConfigurationError) -> String {
        try textOrNotedDefault(setting)
    }

    /// A whole number within the range the table gives (``Setting/Kind/integer(_:)``).
    mutating func integer(_ setting: Setting) throws(ConfigurationError) -> Int {
        guard case .integer(let range) = setting.kind else { preconditionFailure("\(setting.key): not a number") }
        let raw = try textOrNotedDefault(setting)
        guard let value = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ConfigurationError(
                setting,
                "'\(raw)' is not a whole number in \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return value
    }

    mutating func boolean(_ setting: Setting) throws(ConfigurationError) -> Bool {
        let raw = try textOrNotedDefault(setting)
        guard let value = ValueParsers.bool(raw) else {
            throw ConfigurationError(setting, "'\(raw)' is not true or false")
        }
        return value
    }

    /// A path that must name a readable file, when set.
    private mutating func readablePath(_ setting: Setting) throws(ConfigurationError) -> String? {
        guard let path = try text(setting) else { return nil }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ConfigurationError(setting, "cannot read \(path)")
        }
        return path
    }

    /// A size within the range the table gives (``Setting/Kind/byteSize(_:)``).
    private mutating func byteSize(_ setting: Setting) throws(ConfigurationError) -> Int {
        guard case .byteSize(let range) = setting.kind else { preconditionFailure("\(setting.key): not a size") }
        let raw = try textOrNotedDefault(setting)
        guard let value = ValueParsers.byteSize(raw) else {
            throw ConfigurationError(setting, "'\(raw)' is not a size (e.g. 512KiB, 5MiB, 1GiB)")
        }
        guard range.contains(value) else {
            throw ConfigurationError(setting, "must be between \(range.lowerBound) and \(range.upperBound) bytes")
        }
        return value
    }

    /// A duration within the range the table gives (``Setting/Kind/duration(_:)``).
    private mutating func duration(_ setting: Setting) throws(ConfigurationError) -> Duration {
        try checkedDuration(setting, raw: try textOrNotedDefault(setting))
    }

    /// A duration within the table's range, or `nil` when the setting is not set.
    private mutating func optionalDuration(_ setting: Setting) throws(ConfigurationError) -> Duration? {
        guard let raw = try text(setting) else { return nil }
        return try checkedDuration(setting, raw: raw)
    }

    private func checkedDuration(_ setting: Setting, raw: String) throws(ConfigurationError) -> Duration {
        guard case .duration(let range) = setting.kind else { preconditionFailure("\(setting.key): not a duration") }
        guard let value = ValueParsers.duration(raw) else {
            throw ConfigurationError(setting, "'\(raw)' is not a duration (e.g. 500ms, 2s, 5m, 24h)")
        }
        guard range.contains(value) else {
            throw ConfigurationError(
                setting,
                "must be between \(range.lowerBound.configText) and \(range.upperBound.configText)"
            )
        }
        return value
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ setting: Setting,
        _ type: Choice.Type
    ) throws(ConfigurationError) -> Choice where Choice.RawValue == String {
        let raw = try textOrNotedDefault(setting)
        guard let value = Choice(rawValue: raw.lowercased()) else {
            let options = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(setting, "'\(raw)' is not one of \(options)")
        }
        return value
    }

    /// A list: a YAML sequence, or comma-separated text (the environment's form).
    mutating func list(_ setting: Setting) throws(ConfigurationError) -> [String] {
        let values = try readList(setting)
        if !values.isEmpty { note(setting, .list(values)) }
        return values
    }

    private mutating func readList(_ setting: Setting) throws(ConfigurationError) -> [String] {
        consumed.insert(setting.key)
        if let value = environment[setting.environment], !value.isEmpty {
            return Self.splitList(value, separators: [","])
        }
        switch tree.node(at: setting.key) {
        case nil: return []
        case .scalar(let value)?: return Self.splitList(value, separators: [","])
        case .list(let items)?:
            var values: [String] = []
            for item in items {
                guard case .scalar(let value) = item else {
                    throw ConfigurationError(setting, "must be a list of text values")
                }
                values.append(value)
            }
            return values
        case .map?: throw ConfigurationError(setting, "must be a list")
        }
    }

    /// A map of text to text: a YAML mapping, or `KEY=value,KEY=value` in the environment.
    private mutating func stringMap(
        _ setting: Setting,
        fromEnvironment: Bool = true
    ) throws(ConfigurationError) -> [String: String] {
        let map = try readMap(setting, fromEnvironment: fromEnvironment)
        if !map.isEmpty { note(setting, .map(map)) }
        return map
    }

    private mutating func readMap(
        _ setting: Setting,
        fromEnvironment: Bool
    ) throws(ConfigurationError) -> [String: String] {
        consumed.insert(setting.key)
        if fromEnvironment, let value = environment[setting.environment], !value.isEmpty {
            var map: [String: String] = [:]
            for pair in Self.splitList(value, separators: [","]) {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw ConfigurationError(setting, "expected KEY=value pairs separated by commas")
                }
                map[parts[0]] = parts[1]
            }
            return map
        }
        switch tree.node(at: setting.key) {
        case nil: return [:]
        case .map(let pairs)?:
            var map: [String: String] = [:]
            for (key, value) in pairs {
                guard case .scalar(let text) = value else {
                    throw ConfigurationError(setting, "'\(key)' must be a single value")
                }
                map[key] = text
            }
            return map
        default: throw ConfigurationError(setting, "must be a mapping")
        }
    }

    private static func splitList(_ text: String, separators: Set<Character>) -> [String] {
        text.split(whereSeparator: { separators.contains($0) })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}

/// What a sender reads of one source: per-source settings through the loader (which records them
/// as known keys), and what the loader has read already.
private struct LoadedSourceSettings: SourceSettings {
    let name: String
    let secrets: [String]
    let secretsSetting: Setting
    let timestampTolerance: Int64
    let publicURL: String?
    var loader: ConfigurationLoader

    mutating func text(_ setting: Setting) throws(ConfigurationError) -> String? {
        try loader.text(setting.forSource(name))
    }

    /// The raw text of a setting, or its default from the table.
    private mutating func textOrDefault(_ setting: Setting) throws(ConfigurationError) -> String {
        try text(setting) ?? setting.defaultValue ?? ""
    }

    mutating func integer(_ setting: Setting) throws(ConfigurationError) -> Int {
        try loader.integer(setting.forSource(name))
    }

    mutating func list(_ setting: Setting) throws(ConfigurationError) -> [String] {
        try loader.list(setting.forSource(name))
    }

    mutating func boolean(_ setting: Setting) throws(ConfigurationError) -> Bool {
        try loader.boolean(setting.forSource(name))
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ setting: Setting,
        _ type: Choice.Type
    ) throws(ConfigurationError) -> Choice where Choice.RawValue == String {
        try loader.choice(setting.forSource(name), type)
    }
}

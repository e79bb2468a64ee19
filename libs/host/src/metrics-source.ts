/** Renders the Prometheus text exposition; the service passes its telemetry's renderer in. */
export class MetricsSource {
  constructor(readonly render: () => Promise<string>) {}
}

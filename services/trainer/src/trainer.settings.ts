/** The trainer's own settings that its providers need, injected as a class (no string tokens). */
export class TrainerSettings {
  constructor(
    /** Kafka consumer group of the data events consumer. */
    readonly consumerGroup: string,
  ) {}
}

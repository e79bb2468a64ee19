import type { TrainerConfig } from './config.js';

/** The trainer's parsed configuration, injectable (a class, not a string token). */
export class TrainerSettings {
  constructor(readonly config: TrainerConfig) {}
}

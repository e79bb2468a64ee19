import { Global, Module, type DynamicModule } from '@nestjs/common';
import { Platform, type PlatformOptions } from './platform.service.js';
import { Readiness } from './readiness.service.js';

@Global()
@Module({})
export class PlatformModule {
  /** Connects the service's shared clients once; inject `Platform` anywhere in the service. */
  static forRoot(options: PlatformOptions): DynamicModule {
    return {
      module: PlatformModule,
      providers: [{ provide: Platform, useFactory: (readiness: Readiness) => Platform.connect(options, readiness), inject: [Readiness] }],
      exports: [Platform],
    };
  }
}

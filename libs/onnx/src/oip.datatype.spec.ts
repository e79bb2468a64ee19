import { describe, expect, it } from 'vitest';
import { oipDatatypeOf, ortTypeOf } from './oip.datatype.js';

describe('OIP datatypes', () => {
  it('map onnxruntime types both ways and refuse what the protocol cannot carry', () => {
    expect(oipDatatypeOf('float32')).toBe('FP32');
    expect(oipDatatypeOf('int64')).toBe('INT64');
    expect(oipDatatypeOf('bool')).toBe('BOOL');
    expect(oipDatatypeOf('int4')).toBeUndefined();
    expect(oipDatatypeOf('constructor')).toBeUndefined();
    expect(ortTypeOf('FP64')).toBe('float64');
    expect(ortTypeOf('BF16')).toBeUndefined();
  });
});

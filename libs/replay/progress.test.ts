import { createProgress, formatEta } from './progress';

describe('replay progress', () => {
  it('shows the share of the file read and the time left, on a terminal only', () => {
    let out = '';
    let t = 0;
    let read = 0;
    const stream = { isTTY: true, write: (s: string) => ((out += s), true) };
    const p = createProgress(stream, { totalBytes: 1000, bytesRead: () => read }, () => t);
    t = 10_000;
    read = 250;
    p.update(5000, Date.parse('2022-01-17T00:00:00Z'));
    expect(out).toContain('5,000 events');
    expect(out).toContain('25.0%  ETA 30 s');
    t = 40_000;
    read = 1000;
    p.done(20000, Date.parse('2022-01-17T01:00:00Z'));
    expect(out).toMatch(/100\.0%\n$/);

    let piped = '';
    createProgress({ isTTY: false, write: (s: string) => ((piped += s), true) }).done(1, 0);
    expect(piped).toBe('');
  });

  it('formats the time left', () => {
    expect(formatEta(12_400)).toBe('12 s');
    expect(formatEta(245_000)).toBe('4 min 5 s');
    expect(formatEta(3_720_000)).toBe('1 h 2 min');
  });
});

// Which platforms the extension runs on (Linux x86-64 only: it reads /proc and decodes x86-64 machine code)
// and the one message every other platform gets instead of failures. Pure.

export interface PlatformSupport {
  supported: boolean;
  /** Shown once on an unsupported platform; undefined when supported. */
  message?: string;
}

const NAMES: Readonly<Record<string, string>> = { darwin: 'macOS', win32: 'Windows', linux: 'Linux', freebsd: 'FreeBSD', openbsd: 'OpenBSD', sunos: 'SunOS', aix: 'AIX' };
const ARCHES: Readonly<Record<string, string>> = { x64: 'x86-64', arm64: 'ARM64', arm: 'ARM', ia32: 'x86 (32-bit)', ppc64: 'POWER', s390x: 's390x', riscv64: 'RISC-V' };

/** Linux on x86-64 is supported; anything else gets one sentence saying why and what to do. */
export function platformSupport(platform: string, arch: string): PlatformSupport {
  if (platform === 'linux' && arch === 'x64') return { supported: true };
  const where = `${NAMES[platform] ?? platform} on ${ARCHES[arch] ?? arch}`;
  return {
    supported: false,
    message:
      `Pygration runs only on Linux x86-64: it analyses x86-64 machine code and reads running processes through /proc. ` +
      `This extension host is ${where}, so Pygration stays inactive. Open the folder on a Linux x86-64 machine ` +
      `(Remote - SSH, Dev Containers or WSL) to use it: the extension then runs there.`,
  };
}

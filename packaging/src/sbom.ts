// CycloneDX 1.6 SBOM of one artefact, made with OWASP's @cyclonedx/cyclonedx-library (the library
// cyclonedx-npm is built on) from what is really inside it: every npm package rolldown put in the
// bundle (its own package.json: name, version, licence, links), the Node runtime the executable is
// made of, and the artefact's own SHA-256. cyclonedx-npm itself needs `npm ls`, which fails on
// pnpm's layout, and would list the dependency tree rather than the bundle. The result is checked
// against the CycloneDX JSON schema before it is written.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as CDX from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';

const spdxExpressionParse = createRequire(import.meta.url)('spdx-expression-parse') as (e: string) => unknown;

export interface PackageJson {
  name: string;
  version: string;
  license?: string;
  [key: string]: unknown;
}

/** The package.json (with name and version) that owns a bundled file. */
export function owningPackage(file: string): PackageJson | undefined {
  let dir = dirname(file);
  while (dir !== dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      const parsed = JSON.parse(readFileSync(pj, 'utf8')) as Partial<PackageJson>;
      if (typeof parsed.name === 'string' && typeof parsed.version === 'string') return parsed as PackageJson;
    }
    dir = dirname(dir);
  }
  return undefined;
}

/** Distinct packages of a module list, sorted by name@version. */
export function packagesOf(moduleIds: readonly string[]): PackageJson[] {
  const byKey = new Map<string, PackageJson>();
  for (const id of moduleIds) {
    if (id.startsWith('\0') || !id.startsWith('/')) continue;
    const pkg = owningPackage(id);
    if (pkg) byKey.set(`${pkg.name}@${pkg.version}`, pkg);
  }
  return [...byKey.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, p]) => p);
}

export interface SbomInput {
  /** The artefact: application name and version, its file's SHA-256. */
  name: string;
  version: string;
  sha256: string;
  packages: readonly PackageJson[];
  /** Runtime and binaries that are not npm packages of the bundle (Node, native addons). */
  extra?: readonly PackageJson[];
}

export async function makeSbom(input: SbomInput): Promise<string> {
  const licenseFactory = new CDX.Contrib.License.Factories.LicenseFactory((e: string) =>
    spdxExpressionParse(e),
  );
  const builder = new CDX.Contrib.FromNodePackageJson.Builders.ComponentBuilder(
    new CDX.Contrib.FromNodePackageJson.Factories.ExternalReferenceFactory(),
    licenseFactory,
  );
  const bom = new CDX.Models.Bom();
  bom.serialNumber = CDX.Contrib.Bom.Utils.randomSerialNumber();
  const main = new CDX.Models.Component(CDX.Enums.ComponentType.Application, input.name, {
    version: input.version,
  });
  main.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], input.sha256);
  bom.metadata.component = main;
  bom.metadata.timestamp = new Date();
  for (const pkg of [...input.packages, ...(input.extra ?? [])]) {
    const component = builder.makeComponent(pkg as never, CDX.Enums.ComponentType.Library);
    if (!component) throw new Error(`no SBOM component for ${pkg.name}@${pkg.version}`);
    component.purl = new PackageURL('npm', undefined, pkg.name, pkg.version, undefined, undefined).toString();
    component.bomRef.value = `${pkg.name}@${pkg.version}`;
    bom.components.add(component);
    main.dependencies.add(component.bomRef);
  }
  const serializer = new CDX.Serialize.JsonSerializer(
    new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6),
  );
  const json = serializer.serialize(bom, { sortLists: true, space: 2 });
  const invalid = await new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6).validate(json);
  if (invalid)
    throw new Error(`SBOM for ${input.name} fails the CycloneDX schema: ${JSON.stringify(invalid)}`);
  return `${json}\n`;
}

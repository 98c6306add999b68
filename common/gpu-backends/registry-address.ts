// What counts as an npm registry address, for the installer and for Enable CUDA's check of
// layerDial.npmRegistry (which must not load the installer to ask): http or https, with a host.
export function isRegistryAddress(address: string): boolean {
    return /^https?:\/\/[^/\s]+/.test(address);
}

// The patched llama.cpp build that ships inside the extension (dist/native).

/** The extension's host bundle or native build is missing (a broken install or an unbuilt checkout). */
export class NativeBuildMissingError extends Error {
    override name = "NativeBuildMissingError";
}

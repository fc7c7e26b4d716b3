declare module "parse-prometheus-text-format" {
  // biome-ignore lint/suspicious/noExplicitAny: the library ships no types; tests inspect its plain objects.
  export default function parse(text: string): any[];
}

import { readFileSync } from 'node:fs';
import type { AxeResults, ImpactValue, Result, RunOptions } from 'axe-core';
import type { Page } from 'playwright-core';

/**
 * The automated accessibility audit of the browser suites (issue 23 item 8; docs/web.md, "Accessibility"): axe-core
 * (the package's own axe.min.js) injected into a page and run there against WCAG 2.0 and 2.1 A and AA and axe's
 * best practices. A view passes when no violation is serious or critical.
 */

/** The rule sets run: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices. */
export const AUDIT_TAGS: readonly string[] = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];

/** Impacts that fail an audit; minor and moderate ones are reported by `auditPage` but do not fail. */
export const FAILING_IMPACTS: ReadonlySet<ImpactValue> = new Set<ImpactValue>(['serious', 'critical']);

let axeSource: string | undefined;

function source(): string {
  axeSource ??= readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

/** What to audit: the whole page by default, or a CSS selector (with parts left out, each with its reason in the caller). */
export interface AuditContext {
  readonly include?: string;
  readonly exclude?: readonly string[];
}

/**
 * Runs axe-core on the page as it is now and answers every violation (of any impact). Injected once per document;
 * a page with a script-blocking Content-Security-Policy (the local issuer's form) needs a context made with
 * `bypassCSP: true`.
 */
export async function auditPage(page: Page, context: AuditContext = {}): Promise<Result[]> {
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.addScriptTag({ content: source() });
  const options: RunOptions = { runOnly: { type: 'tag', values: [...AUDIT_TAGS] }, resultTypes: ['violations'] };
  const results = await page.evaluate(
    async ({ include, exclude, runOptions }) => {
      const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<AxeResults> } }).axe;
      const scope = { ...(include ? { include: [include] } : {}), exclude };
      const answer = await axe.run(scope, runOptions);
      // Only what Node needs (nodes hold DOM references otherwise).
      return answer.violations.map(({ id, impact, help, helpUrl, description, tags, nodes }) => ({
        id,
        impact,
        help,
        helpUrl,
        description,
        tags,
        nodes: nodes.map(({ target, html, impact: nodeImpact, failureSummary, any, all, none }) => ({ target, html, impact: nodeImpact, failureSummary, any, all, none })),
      }));
    },
    { include: context.include, exclude: [...(context.exclude ?? [])], runOptions: options },
  );
  return results as Result[];
}

/** The violations that fail an audit: serious or critical. */
export function failingViolations(violations: readonly Result[]): Result[] {
  return violations.filter((violation) => FAILING_IMPACTS.has(violation.impact ?? null));
}

/** A readable list of violations: rule, impact, what it asks, and each element (selector and the first of its HTML). */
export function describeViolations(violations: readonly Result[]): string {
  return violations
    .map((violation) => {
      const nodes = violation.nodes.map((node) => `    - ${node.target.join(' >>> ')}  ${node.html.replace(/\s+/g, ' ').slice(0, 160)}${node.failureSummary ? `\n      ${node.failureSummary.replace(/\n\s*/g, '; ')}` : ''}`);
      return `  ${violation.id} (${violation.impact ?? 'no impact'}): ${violation.help}\n${nodes.join('\n')}`;
    })
    .join('\n');
}

/** Audits the page and fails, with the list, on any serious or critical violation; answers all violations (minor ones to log). */
export async function expectNoSeriousViolations(page: Page, view: string, context: AuditContext = {}): Promise<Result[]> {
  const violations = await auditPage(page, context);
  const failing = failingViolations(violations);
  if (failing.length > 0) {
    throw new Error(`accessibility audit of ${view}: ${failing.length} serious or critical violation(s) (axe-core, ${AUDIT_TAGS.join(', ')})\n${describeViolations(failing)}`);
  }
  return violations;
}

/**
 * What axe-core does not see from the keyboard's side (issue 23 item 8): a visible label whose control is not rendered
 * (a `display:none` file input: the label takes no focus, so the control cannot be reached by Tab), and a visible,
 * enabled control taken out of the tab order (`tabindex="-1"`) outside a composite widget that keeps one member
 * tabbable (a tab strip, a menu, a radio group with roving focus), and an element that looks clickable (a pointer
 * cursor of its own) without being a control or taking focus. Answers one line per gap.
 */
export async function keyboardGaps(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(KEYBOARD_GAPS_SCRIPT);
}

// Runs in the page (a string: this project's Node typings have no DOM).
const KEYBOARD_GAPS_SCRIPT = `(() => {
  const rendered = (element) => {
    const style = getComputedStyle(element);
    return style.display !== 'none' && style.visibility !== 'hidden' && element.getClientRects().length > 0;
  };
  const describe = (element) => {
    const testId = element.getAttribute('data-testid');
    const classes = typeof element.className === 'string' && element.className.trim() ? '.' + element.className.trim().split(/\\s+/).join('.') : '';
    return element.tagName.toLowerCase() + (testId ? '[data-testid="' + testId + '"]' : '') + classes;
  };
  const gaps = [];
  for (const label of document.querySelectorAll('label')) {
    const control = label.control;
    if (control && rendered(label) && !rendered(control) && !control.disabled) {
      gaps.push(describe(control) + ' inside the visible ' + describe(label) + ' is not rendered: it cannot be reached with Tab');
    }
  }
  const composite = '[role="tablist"], [role="menu"], [role="menubar"], [role="radiogroup"], [role="listbox"], [role="toolbar"], [role="grid"], [role="tree"]';
  const controls = 'button, input:not([type="hidden"]), select, textarea, a[href], summary, [role="button"], [role="tab"], [role="link"]';
  for (const control of document.querySelectorAll(controls)) {
    if (!rendered(control) || control.disabled || control.tabIndex >= 0) continue;
    const group = control.closest(composite);
    const roving = group && [...group.querySelectorAll('*')].some((member) => member.tabIndex >= 0 && rendered(member));
    if (!roving) gaps.push(describe(control) + ' is visible but out of the tab order (tabindex ' + control.tabIndex + ')');
  }
  // Looks clickable (a pointer cursor of its own, not inherited) but is no control and takes no focus: a mouse-only action.
  for (const element of document.body.querySelectorAll('*')) {
    if (element.closest(controls + ', label') || element.tabIndex >= 0 || !rendered(element)) continue;
    const parent = element.parentElement;
    if (getComputedStyle(element).cursor === 'pointer' && !(parent && getComputedStyle(parent).cursor === 'pointer')) {
      gaps.push(describe(element) + ' has a pointer cursor but is no control and takes no focus: a mouse-only action');
    }
  }
  return gaps;
})()`;

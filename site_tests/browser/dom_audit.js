// Lists anything in the DOM that untrusted text could use to run script: event-handler
// attributes, javascript:/vbscript:/data: URLs, active or styling elements inside the content,
// and external links without rel=noopener. Returns [] for a clean page.
() => {
  const bad = [];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'background', 'poster', 'srcset'];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\s\u0000-\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) bad.push(`${el.tagName} has handler ${name}`);
      if (name === 'srcdoc') bad.push(`${el.tagName} has srcdoc`);
      if (urlAttrs.includes(name) && /^(javascript|vbscript|data):/.test(value)) bad.push(`${el.tagName} ${name}=${value}`);
    }
  }
  const content = document.querySelector('article') || document.body;
  const forbidden = 'script, iframe, frame, frameset, object, embed, style, link, meta, base, svg, math, template,'
    + ' img, video, audio, source, textarea, select, marquee, isindex, form, input, button, [style]';
  for (const el of content.querySelectorAll(forbidden)) {
    if (!el.closest('.csbp-quiz, .csbp-tool, .csbp-filter') || !['FORM', 'INPUT', 'BUTTON', 'SELECT'].includes(el.tagName)) bad.push(`${el.tagName} in content`);
  }
  for (const a of content.querySelectorAll('a[href^="http"]')) {
    if (a.host !== location.host && !/noopener/.test(a.rel)) bad.push(`external link without noopener: ${a.href}`);
  }
  return bad;
}

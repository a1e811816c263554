"""GB/T 9704 page layout for the Word report: page, styles, fonts, headers and page numbers.

python-docx has no API for the East Asian font slot, odd/even footers' fields or the font table's
fallback names, so those are set on the XML here. Fonts are named as the bureau's Windows PCs
have them (方正小标宋简体, 仿宋_GB2312, 楷体_GB2312); each carries a fallback in the document's
font table (``w:altName``: 黑体, 仿宋, 楷体) together with the GB2312 character set, which Word
and WPS use when the named font is not installed. The names in the runs stay the ones the
standard asks for, so a PC that has them prints the standard layout unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

if TYPE_CHECKING:
    from docx.document import Document
    from docx.section import Section
    from docx.styles.style import BaseStyle
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

# Fonts (East Asian slot) and their fallbacks written to the font table
TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"
FALLBACKS = {TITLE_FONT: "黑体", BODY_FONT: "仿宋", HEADING2_FONT: "楷体"}
CJK_FONTS = (TITLE_FONT, BODY_FONT, HEADING1_FONT, HEADING2_FONT, PAGE_NUMBER_FONT, "仿宋", "楷体")

# Sizes (Chinese size names)
ERHAO, SANHAO, SIHAO, XIAOSI = Pt(22), Pt(16), Pt(14), Pt(12)
LINE = Pt(28)  # fixed line spacing of the body

# Page (A4 portrait) and margins
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
TEXT_WIDTH = PAGE_WIDTH - MARGINS["left"] - MARGINS["right"]

# Paragraph styles this module defines
TITLE_STYLE = "公文标题"
TABLE_STYLE_TEXT = "表格文字"
CAPTION_STYLE = "图表题注"
SUBTITLE_STYLE = "标题下说明"
ADDRESS_STYLE = "主送机关"
SAMPLE_TEXT = "示例数据"
EM_DASH = "\u2014"


def set_fonts(element: object, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Name ``east_asia`` for CJK text and ``latin`` for Latin text in a style's or run's rPr.

    Theme font attributes are removed (they would win over the names) and ``w:hint`` is set, so
    quotes and dashes between CJK text use the CJK font too.
    """
    rpr = element.get_or_add_rPr()  # type: ignore[attr-defined]
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for name in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(name), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:hint"), "eastAsia")


def style_run(run: Run, east_asia: str, size: Pt, *, latin: str = LATIN_FONT) -> Run:
    """Give ``run`` its fonts (both slots) and size."""
    set_fonts(run._r, east_asia, latin)
    run.font.size = size
    return run


def _first_line_chars(paragraph_format_element: object, chars: int) -> None:
    """Indent the first line by ``chars`` characters (w:firstLineChars, in 1/100 character)."""
    ppr = paragraph_format_element.get_or_add_pPr()  # type: ignore[attr-defined]
    ind = ppr.find(qn("w:ind"))
    if ind is None:
        ind = OxmlElement("w:ind")
        ppr.append(ind)
    ind.set(qn("w:firstLineChars"), str(chars * 100))


def _paragraph_style(
    doc: Document,
    name: str,
    east_asia: str,
    size: Pt,
    *,
    indent_chars: int = 2,
    align: WD_ALIGN_PARAGRAPH | None = None,
    line: Pt | None = LINE,
) -> BaseStyle:
    styles = doc.styles
    style = (
        styles[name]
        if name in [s.name for s in styles]
        else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    )
    if name != "Normal":
        style.base_style = styles["Normal"]
    set_fonts(style.element, east_asia)
    font = style.font
    font.size, font.bold, font.italic = size, False, False
    font.color.rgb = RGBColor(0, 0, 0)
    fmt = style.paragraph_format
    fmt.space_before, fmt.space_after = Pt(0), Pt(0)
    if line is None:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, line
    fmt.first_line_indent = size * indent_chars if indent_chars else Pt(0)
    _first_line_chars(style.element, indent_chars)  # 0 too: Normal's 2 characters not inherited
    if align is not None:
        fmt.alignment = align
    return style


def set_up_styles(doc: Document) -> None:
    """Normal (body), headings 1/2, title, table text and caption styles after GB/T 9704."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    for child in list(rpr):
        if child.tag in (qn("w:rFonts"), qn("w:lang")):
            rpr.remove(child)
    fonts = OxmlElement("w:rFonts")
    for slot, font in (("ascii", LATIN_FONT), ("hAnsi", LATIN_FONT), ("eastAsia", BODY_FONT)):
        fonts.set(qn(f"w:{slot}"), font)
    fonts.set(qn("w:cs"), LATIN_FONT)
    rpr.insert(0, fonts)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)
    for other in doc.styles.element.iter(qn("w:rFonts")):  # the template's other styles
        other.attrib.pop(qn("w:eastAsiaTheme"), None)
        if other.get(qn("w:eastAsia")) is None:
            other.set(qn("w:eastAsia"), BODY_FONT)
    _paragraph_style(doc, "Normal", BODY_FONT, SANHAO, align=WD_ALIGN_PARAGRAPH.JUSTIFY)
    for name, font in (("Heading 1", HEADING1_FONT), ("Heading 2", HEADING2_FONT)):
        style = _paragraph_style(doc, name, font, SANHAO)
        style.paragraph_format.keep_with_next = True
    _paragraph_style(
        doc,
        TITLE_STYLE,
        TITLE_FONT,
        ERHAO,
        indent_chars=0,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        line=Pt(36),
    )
    _paragraph_style(
        doc, SUBTITLE_STYLE, HEADING2_FONT, SANHAO, indent_chars=0, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    _paragraph_style(doc, ADDRESS_STYLE, BODY_FONT, SANHAO, indent_chars=0)
    _paragraph_style(doc, TABLE_STYLE_TEXT, BODY_FONT, XIAOSI, indent_chars=0, line=None)
    _paragraph_style(
        doc, CAPTION_STYLE, BODY_FONT, SIHAO, indent_chars=0, align=WD_ALIGN_PARAGRAPH.CENTER
    )


def add_font_fallbacks(doc: Document) -> None:
    """Declare the standard's fonts in the font table with their fallback (``w:altName``) and
    the GB2312 character set, so Word/WPS substitute 黑体/仿宋/楷体 where a PC lacks them."""
    part = next(p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml")
    root = etree.fromstring(part.blob)
    for font in root.findall(qn("w:font")):  # the template's Japanese fonts are of no use here
        if font.get(qn("w:name")) in CJK_FONTS or font.find(qn("w:charset")).get(qn("w:val")) in (
            "80",
        ):
            root.remove(font)
    for name in CJK_FONTS:
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        if name in FALLBACKS:
            etree.SubElement(font, qn("w:altName")).set(qn("w:val"), FALLBACKS[name])
        etree.SubElement(font, qn("w:charset")).set(qn("w:val"), "86")  # GB2312
        etree.SubElement(font, qn("w:family")).set(
            qn("w:val"), "modern" if name == HEADING1_FONT else "roman"
        )
        etree.SubElement(font, qn("w:pitch")).set(qn("w:val"), "variable")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def set_up_page(section: Section) -> None:
    """A4 portrait with the standard's margins; odd and even footers (settings switch set by
    :func:`add_page_numbers`)."""
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.header_distance = Mm(15)
    section.footer_distance = Mm(22)  # the number sits about 7 mm below the text block


def _field(paragraph: Paragraph, instruction: str, shown: str) -> None:
    """Append a complex field (``PAGE``…) to ``paragraph``; ``shown`` is its cached result."""

    def run_with(child: object) -> None:
        run = paragraph.add_run()
        style_run(run, PAGE_NUMBER_FONT, SIHAO, latin=PAGE_NUMBER_FONT)
        run._r.append(child)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    text = OxmlElement("w:t")
    text.text = shown
    run_with(text)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run_with(end)


def _page_number(doc: Document, paragraph: Paragraph, align: WD_ALIGN_PARAGRAPH) -> None:
    """ "— N —" in 四号 宋体, one character in from the outer edge."""
    paragraph.style = doc.styles[TABLE_STYLE_TEXT]
    fmt = paragraph.paragraph_format
    fmt.alignment = align
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        fmt.right_indent = SIHAO
    else:
        fmt.left_indent = SIHAO
    style_run(paragraph.add_run(f"{EM_DASH} "), PAGE_NUMBER_FONT, SIHAO, latin=PAGE_NUMBER_FONT)
    _field(paragraph, "PAGE", "1")
    style_run(paragraph.add_run(f" {EM_DASH}"), PAGE_NUMBER_FONT, SIHAO, latin=PAGE_NUMBER_FONT)


def add_page_numbers(doc: Document, section: Section) -> None:
    """Odd pages' number at the right, even pages' at the left (w:evenAndOddHeaders on)."""
    doc.settings.odd_and_even_pages_header_footer = True
    _page_number(doc, section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number(doc, section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


def add_sample_header(doc: Document, section: Section, text: str) -> None:
    """``text`` (示例数据) at the top right of every page, odd and even."""
    for header in (section.header, section.even_page_header):
        paragraph = header.paragraphs[0]
        paragraph.style = doc.styles[TABLE_STYLE_TEXT]
        paragraph.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        run = style_run(paragraph.add_run(text), HEADING1_FONT, SIHAO)
        run.font.color.rgb = RGBColor(0xC0, 0, 0)


def repeat_header_row(row: object) -> None:
    """Repeat a table's first row at the top of every page it spans (w:tblHeader)."""
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    tr_pr.append(flag)
    cant_split = OxmlElement("w:cantSplit")
    tr_pr.append(cant_split)

using System.Reflection;
using System.Reflection.Emit;

namespace Studies.Orchestrator.Tests.Architecture;

/// <summary>
/// Which namespace of an assembly uses which, read from the compiled code: base types, interfaces, attributes, the
/// signatures of fields, properties, methods and constructors, local variables, and every type, method and field a
/// method body names (its IL tokens), generic arguments included. Only edges between namespaces of the same assembly
/// count (the project references already keep assemblies acyclic). Lambdas and async state machines are nested types,
/// so they count for the namespace of the type that wrote them.
/// </summary>
public sealed class NamespaceGraph
{
    private readonly Dictionary<string, Dictionary<string, string>> _edges = [];

    /// <summary>Namespace -> the namespaces it uses, each with one example ("A.X uses B.Y").</summary>
    public IReadOnlyDictionary<string, Dictionary<string, string>> Edges => _edges;

    public void Add(string from, string to, string why)
    {
        if (from == to) return;
        if (!_edges.TryGetValue(from, out var targets)) _edges[from] = targets = [];
        targets.TryAdd(to, why);
        _edges.TryAdd(to, []);
    }

    public static NamespaceGraph Of(Assembly assembly)
    {
        var graph = new NamespaceGraph();
        foreach (var type in assembly.GetTypes())
        {
            if (type.Namespace is not { } from) continue;
            foreach (var used in UsedBy(type))
            {
                if (used.Assembly == assembly && used.Namespace is { } to) graph.Add(from, to, $"{Name(type)} uses {Name(used)}");
            }
        }
        return graph;
    }

    /// <summary>The cycles: every strongly connected set of two or more namespaces (Tarjan), each sorted.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var cycles = new List<IReadOnlyList<string>>();
        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in _edges[v].Keys)
            {
                if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
            if (component.Count > 1) cycles.Add([.. component.Order(StringComparer.Ordinal)]);
        }
        foreach (var v in _edges.Keys.Order(StringComparer.Ordinal).ToList())
        {
            if (!index.ContainsKey(v)) Visit(v);
        }
        return cycles;
    }

    /// <summary>A cycle in words: each edge inside it with its example, so the fix is findable.</summary>
    public string Describe(IReadOnlyList<string> cycle) =>
        string.Join("\n", cycle.SelectMany(from => _edges[from].Where(e => cycle.Contains(e.Key)).Select(e => $"  {from} -> {e.Key}: {e.Value}")));

    private static string Name(Type t) => t.FullName ?? t.Name;

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static IEnumerable<Type> UsedBy(Type type)
    {
        var used = new HashSet<Type>();
        void Use(Type? t)
        {
            if (t is null || t.IsGenericParameter || !used.Add(t)) return;
            if (t.HasElementType) Use(t.GetElementType());
            if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) Use(a);
        }
        Use(type.BaseType);
        foreach (var i in type.GetInterfaces()) Use(i);
        foreach (var a in type.CustomAttributes) Use(a.AttributeType);
        foreach (var f in type.GetFields(Declared)) Use(f.FieldType);
        foreach (var p in type.GetProperties(Declared)) Use(p.PropertyType);
        foreach (var m in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (m is MethodInfo mi) Use(mi.ReturnType);
            foreach (var p in m.GetParameters()) Use(p.ParameterType);
            foreach (var a in m.CustomAttributes) Use(a.AttributeType);
            foreach (var t in BodyTypes(m)) Use(t);
        }
        return used;
    }

    private static IEnumerable<Type> BodyTypes(MethodBase method)
    {
        var body = method.GetMethodBody();
        if (body is null) yield break;
        foreach (var local in body.LocalVariables) yield return local.LocalType;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        foreach (var token in Tokens(body.GetILAsByteArray() ?? []))
        {
            MemberInfo? member;
            try { member = method.Module.ResolveMember(token, typeArgs, methodArgs); }
            catch (ArgumentException) { continue; }
            switch (member)
            {
                case Type t: yield return t; break;
                case MethodInfo m:
                    yield return m.DeclaringType!;
                    if (m.IsGenericMethod) foreach (var a in m.GetGenericArguments()) yield return a;
                    break;
                case { DeclaringType: { } declaring }: yield return declaring; break;
            }
        }
    }

    private static readonly OpCode[] OneByte = new OpCode[256];
    private static readonly OpCode[] TwoByte = new OpCode[256];

    static NamespaceGraph()
    {
        foreach (var f in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var op = (OpCode)f.GetValue(null)!;
            var value = (ushort)op.Value;
            if (op.Size == 1) OneByte[value] = op;
            else TwoByte[value & 0xff] = op;
        }
    }

    /// <summary>The metadata tokens of the instructions that name a type, method or field.</summary>
    private static IEnumerable<int> Tokens(byte[] il)
    {
        var at = 0;
        while (at < il.Length)
        {
            var op = il[at] == 0xfe ? TwoByte[il[++at]] : OneByte[il[at]];
            at++;
            switch (op.OperandType)
            {
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    yield return BitConverter.ToInt32(il, at);
                    at += 4;
                    break;
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: at += 1; break;
                case OperandType.InlineVar: at += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: at += 8; break;
                case OperandType.InlineSwitch: at += 4 + 4 * BitConverter.ToInt32(il, at); break;
                default: at += 4; break;
            }
        }
    }
}

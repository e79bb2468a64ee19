// Starts a single-node OpenSearch 2.19 in this JVM from plain Maven jars on the classpath.
//
// Why not the distribution's bootstrap: the tarball layout (modules/ with per-module descriptors, a
// security manager policy, jar-hell checks, a keystore) is not published on Maven Central. Node has a
// protected constructor that takes the plugin classes directly, which is all a local dev node needs.
//
// Usage (see component.mjs, which compiles this file once into .infra/opensearch/classes):
//   java -cp 'classes:lib/*' Launcher path.home=/abs/dir [key=value ...]
// Every key=value argument is an OpenSearch setting and overrides the defaults below.
// The process blocks after start and closes the node on SIGTERM/SIGINT (shutdown hook).

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public final class Launcher {
    /** Plugin classes loaded when their jar is on the classpath (2.x class names). */
    private static final String[] PLUGINS = {
        "org.opensearch.transport.Netty4Plugin",             // HTTP (9200) + transport (9300)
        "org.opensearch.analysis.common.CommonAnalysisPlugin", // standard analyzers/tokenizers/filters
        "org.opensearch.index.mapper.MapperExtrasPlugin",     // scaled_float, rank_feature, search_as_you_type...
        "org.opensearch.index.reindex.ReindexPlugin",         // _reindex, _update_by_query, _delete_by_query
        "org.opensearch.painless.PainlessPlugin",             // painless scripts
    };

    static final class LocalNode extends Node {
        LocalNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    public static void main(String[] args) throws Exception {
        // Our shutdown hook logs the node's close: log4j must not stop itself first (as in jvm.options).
        if (System.getProperty("log4j.shutdownHookEnabled") == null) System.setProperty("log4j.shutdownHookEnabled", "false");
        if (System.getProperty("log4j2.disable.jmx") == null) System.setProperty("log4j2.disable.jmx", "true");
        Map<String, String> s = new LinkedHashMap<>();
        s.put("cluster.name", "aio-local");
        s.put("node.name", "aio-local-1");
        s.put("discovery.type", "single-node");
        s.put("network.host", "127.0.0.1");
        s.put("http.port", "9200");
        s.put("transport.port", "9300");
        s.put("cluster.routing.allocation.disk.threshold_enabled", "false");
        s.put("action.auto_create_index", "true");
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                System.err.println("[launcher] expected key=value, got: " + arg);
                System.exit(2);
            }
            s.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        if (!s.containsKey("path.home")) {
            System.err.println("[launcher] path.home=<dir> is required");
            System.exit(2);
        }
        Path home = Path.of(s.get("path.home")).toAbsolutePath();
        s.put("path.home", home.toString());
        s.putIfAbsent("path.data", home.resolve("data").toString());
        s.putIfAbsent("path.logs", home.resolve("logs").toString());
        for (String dir : new String[] {"config", "modules", "plugins"}) Files.createDirectories(home.resolve(dir));
        Files.createDirectories(Path.of(s.get("path.data")));
        Files.createDirectories(Path.of(s.get("path.logs")));
        if (!Files.exists(home.resolve("config/log4j2.properties"))) {
            System.err.println("[launcher] missing " + home.resolve("config/log4j2.properties"));
            System.exit(2);
        }

        Settings.Builder builder = Settings.builder();
        s.forEach(builder::put);
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            builder.build(), Map.of(), home.resolve("config"), () -> s.get("node.name"));
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(s.get("node.name"));
        LogConfigurator.configure(env);

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : PLUGINS) {
            try {
                plugins.add(Class.forName(name).asSubclass(Plugin.class));
            } catch (ClassNotFoundException e) {
                LogManager.getLogger("aio.launcher").warn("plugin not on classpath, skipped: {}", name);
            }
        }

        long t0 = System.nanoTime();
        Node node = new LocalNode(env, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
                LogManager.shutdown();
            }
        }, "aio-opensearch-shutdown"));
        try {
            node.start();
        } catch (Throwable e) {
            System.err.println("[launcher] OpenSearch failed to start: " + e);
            e.printStackTrace();
            System.exit(1);
        }
        LogManager.getLogger("aio.launcher").info("OpenSearch {} started in {} ms on http://{}:{} (plugins: {})",
            org.opensearch.Version.CURRENT, (System.nanoTime() - t0) / 1_000_000,
            s.get("network.host"), s.get("http.port"), plugins.size());
        // OpenSearch threads are daemons: keep the JVM alive until the shutdown hook has run.
        stopped.await();
    }
}
